/**
 * `starlingjs/graphql`: GraphQLApp (see `src/graphql/`). `graphql`, and `graphql-ws` for subscriptions,
 * are optional peer dependencies loaded only from here.
 */
export * from './graphql/index.ts';
