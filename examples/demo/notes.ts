// The notes: a SQLite table, a JSON API over it (described for OpenAPI), a form for signed-in users,
// and the audit log that background tasks write once a note's response has gone out.
import type { Database, Queryable, Transaction } from '../../src/database/index.ts';
import {
  BackgroundTask,
  HTTPException,
  JSONResponse,
  RedirectResponse,
  Route,
  requires,
  type Request,
} from '../../src/index.ts';
import { templates } from './templates.ts';

export interface Note {
  id: number;
  text: string;
  author: string;
  created: string;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, author TEXT NOT NULL,
     created TEXT NOT NULL DEFAULT (datetime('now')))`,
  `CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY, action TEXT NOT NULL, detail TEXT NOT NULL,
     at TEXT NOT NULL DEFAULT (datetime('now')))`,
];
// Fixed ids and INSERT OR IGNORE: workers sharing one file can all run this at startup.
const SEED = [
  { id: 1, text: 'This list comes from SQLite, through DatabaseMiddleware.', author: 'starling' },
  { id: 2, text: 'Log in as demo / starling to add your own notes.', author: 'starling' },
  {
    id: 3,
    text: 'Each new note shows up in the audit log, written by a background task.',
    author: 'starling',
  },
];

/** Creates the tables and the first notes; safe to run again, and from several workers at once. */
export async function setUp(database: Database): Promise<void> {
  for (const sql of SCHEMA) await database.execute(sql);
  await database.executeMany(
    'INSERT OR IGNORE INTO notes (id, text, author) VALUES (:id, :text, :author)',
    SEED,
  );
}

const COLUMNS = 'SELECT id, text, author, created FROM notes';

export function latestNotes(db: Queryable, limit = 20): Promise<Note[]> {
  return db.fetchAll<Note>(`${COLUMNS} ORDER BY id DESC LIMIT :limit`, { limit });
}

export function notesBy(db: Queryable, author: string): Promise<Note[]> {
  return db.fetchAll<Note>(`${COLUMNS} WHERE author = :author ORDER BY id DESC`, { author });
}

export function findNote(db: Queryable, id: number): Promise<Note | null> {
  return db.fetchOne<Note>(`${COLUMNS} WHERE id = :id`, { id });
}

/** Adds a note and returns it; `text` must be a non-empty string of at most 500 characters. */
export async function addNote(db: Queryable, text: unknown, author: string): Promise<Note> {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  if (trimmed === '' || trimmed.length > 500)
    throw new HTTPException(422, { detail: 'A note is a text of 1 to 500 characters.' });
  const { lastInsertId } = await db.execute('INSERT INTO notes (text, author) VALUES (:text, :author)', {
    text: trimmed,
    author,
  });
  return (await findNote(db, Number(lastInsertId)))!;
}

/** Records a new note in the audit log; run as a background task, after the response. */
export async function auditNote(database: Database, note: Note, via: string): Promise<void> {
  const detail = `#${note.id} by ${note.author} (${via})`;
  await database.execute("INSERT INTO audit (action, detail) VALUES ('note added', :detail)", { detail });
}

export function auditEntries(db: Queryable): Promise<{ action: string; detail: string; at: string }[]> {
  return db.fetchAll('SELECT action, detail, at FROM audit ORDER BY id DESC LIMIT 50');
}

const noteSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    text: { type: 'string' },
    author: { type: 'string' },
    created: { type: 'string' },
  },
};

/** The routes of the notes, their background audit going to `database`. */
export function noteRoutes(database: Database): Route[] {
  const added = (note: Note, via: string) => new BackgroundTask(auditNote, database, note, via);

  async function list(request: Request) {
    return new JSONResponse(await latestNotes(db(request)));
  }

  async function create(request: Request) {
    const body = await request.json().catch(() => null);
    const note = await addNote(db(request), body?.text, request.user.displayName);
    return new JSONResponse(note, { status: 201, background: added(note, 'JSON API') });
  }

  async function show(request: Request) {
    const note = await findNote(db(request), request.pathParams.id as number);
    if (note === null) throw new HTTPException(404, { detail: 'No such note.' });
    return new JSONResponse(note);
  }

  async function createFromForm(request: Request) {
    const form = await request.form();
    const note = await addNote(db(request), form.get('text'), request.user.displayName);
    return new RedirectResponse('/account', { status: 303, background: added(note, 'form') });
  }

  async function auditPage(request: Request) {
    const entries = await auditEntries(db(request));
    return templates.TemplateResponse(request, 'audit.html', { entries });
  }

  return [
    new Route('/api/notes', list, {
      openapi: {
        summary: 'The latest notes, newest first',
        responses: {
          200: { description: 'A list of notes.', content: json({ type: 'array', items: noteSchema }) },
        },
      },
    }),
    new Route('/api/notes', requires('authenticated')(create), {
      methods: ['POST'],
      openapi: {
        summary: 'Add a note (signed-in users only: the session cookie)',
        requestBody: {
          required: true,
          content: json({ type: 'object', properties: { text: { type: 'string' } }, required: ['text'] }),
        },
        responses: {
          201: { description: 'The note, as stored.', content: json(noteSchema) },
          403: { description: 'Not signed in.' },
          422: { description: 'The text is empty or too long.' },
        },
      },
    }),
    new Route('/api/notes/{id:int}', show, {
      openapi: {
        summary: 'One note',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: {
          200: { description: 'The note.', content: json(noteSchema) },
          404: { description: 'No note has this id.' },
        },
      },
    }),
    new Route('/notes', requires('authenticated', { redirect: 'login' })(createFromForm), {
      methods: ['POST'],
    }),
    new Route('/audit', auditPage),
  ];
}

/** The request's transaction, opened by DatabaseMiddleware. */
export function db(request: Request): Transaction {
  return request.state.db as Transaction;
}

function json(schema: object) {
  return { 'application/json': { schema } };
}
