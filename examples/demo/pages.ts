// The home page, and the first demo's plain routes: text, JSON, a path parameter, a form.
import { JSONResponse, PlainTextResponse, Route, type Request } from '../../src/index.ts';
import { db, latestNotes } from './notes.ts';
import { templates } from './templates.ts';

async function home(request: Request) {
  const notes = await latestNotes(db(request), 5);
  return templates.TemplateResponse(request, 'home.html', { notes });
}

export const pageRoutes = [
  new Route('/', home),
  new Route('/plaintext', async () => new PlainTextResponse('Hello, World!')),
  new Route('/json', async () => new JSONResponse({ message: 'Hello, World!' })),
  new Route('/users/{id:int}', async (request: Request) => new JSONResponse({ id: request.pathParams.id })),
  new Route(
    '/echo',
    async (request: Request) => {
      const form = await request.form();
      return new JSONResponse({ message: form.get('message') });
    },
    { methods: ['POST'] },
  ),
];
