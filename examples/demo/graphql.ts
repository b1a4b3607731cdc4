// GraphQL over the same notes, with GraphiQL for browsers at /graphql. Resolvers query the request's
// transaction, and a new note is audited by a background task, as in the JSON API.
import { buildSchema } from 'graphql';
import type { Database } from '../../src/database/index.ts';
import { GraphQLApp } from '../../src/graphql/index.ts';
import type { BackgroundTasks, Request } from '../../src/index.ts';
import { addNote, auditNote, db, findNote, latestNotes } from './notes.ts';

const schema = buildSchema(`
  "A note, as the JSON API gives it."
  type Note { id: Int!, text: String!, author: String!, created: String! }
  type Query {
    "The latest notes, newest first."
    notes(last: Int = 20): [Note!]!
    note(id: Int!): Note
  }
  type Mutation {
    "Adds a note; signed-in users only (the session cookie)."
    addNote(text: String!): Note!
  }
`);

interface Context {
  request: Request;
  background: BackgroundTasks;
}

/** The GraphQL app of the notes, auditing to `database`. */
export function notesGraphQL(database: Database): GraphQLApp {
  const rootValue = {
    notes: ({ last }: { last: number }, { request }: Context) => latestNotes(db(request), last),
    note: ({ id }: { id: number }, { request }: Context) => findNote(db(request), id),
    addNote: async ({ text }: { text: string }, { request, background }: Context) => {
      if (!request.user.isAuthenticated) throw new Error('Log in to add notes.');
      const note = await addNote(db(request), text, request.user.displayName);
      background.addTask(auditNote, database, note, 'GraphQL');
      return note;
    },
  };
  return new GraphQLApp(schema, { rootValue });
}
