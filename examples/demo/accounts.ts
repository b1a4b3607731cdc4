// Signing in: one fixed demo user, a session cookie that remembers them, a backend that reads it, and
// a page that `requires` it.
import {
  AuthCredentials,
  AuthenticationBackend,
  RedirectResponse,
  Route,
  SimpleUser,
  requires,
  type AuthResult,
  type HTTPConnection,
  type Request,
} from '../../src/index.ts';
import { db, notesBy } from './notes.ts';
import { templates } from './templates.ts';

/** The demo's only account, shown on the login page. */
export const DEMO_USER = { username: 'demo', password: 'starling' } as const;

/** Who makes a request: the user whose name the session holds, if any. */
export class SessionBackend extends AuthenticationBackend {
  async authenticate(conn: HTTPConnection): Promise<AuthResult | null> {
    const name: unknown = conn.session.user;
    return typeof name === 'string' ? [new AuthCredentials(['authenticated']), new SimpleUser(name)] : null;
  }
}

/** Where to go after logging in: `next` when it is on this site, else the account page. */
function afterLogin(request: Request, next: unknown): string {
  if (typeof next === 'string' && next !== '') {
    try {
      const here = new URL(String(request.url));
      const there = new URL(next, here);
      if (there.origin === here.origin) return there.pathname + there.search;
    } catch {
      // Not a URL: ignore it.
    }
  }
  return '/account';
}

async function loginPage(request: Request) {
  const next = request.queryParams.get('next') ?? '';
  return templates.TemplateResponse(request, 'login.html', { next, demo: DEMO_USER });
}

async function login(request: Request) {
  const form = await request.form();
  const next = form.get('next');
  if (form.get('username') !== DEMO_USER.username || form.get('password') !== DEMO_USER.password) {
    const context = { next, demo: DEMO_USER, error: 'Wrong name or password.' };
    return templates.TemplateResponse(request, 'login.html', context, { status: 400 });
  }
  request.session.user = DEMO_USER.username;
  return new RedirectResponse(afterLogin(request, next), { status: 303 });
}

async function logout(request: Request) {
  delete request.session.user;
  return new RedirectResponse('/', { status: 303 });
}

async function account(request: Request) {
  const notes = await notesBy(db(request), request.user.displayName);
  return templates.TemplateResponse(request, 'account.html', { notes });
}

export const accountRoutes = [
  new Route('/login', loginPage, { name: 'login' }),
  new Route('/login', login, { methods: ['POST'] }),
  new Route('/logout', logout, { methods: ['POST'] }),
  new Route('/account', requires('authenticated', { redirect: 'login' })(account)),
];
