/**
 * The optional peers behind `starlingjs/graphql`, loaded on first use so that `import 'starlingjs'` never
 * needs them: `graphql` for every GraphQLApp, `graphql-ws` only when subscriptions are on.
 */
import { createRequire } from 'node:module';

export type GraphQL = typeof import('graphql');
export type GraphQLWS = typeof import('graphql-ws');

const require = createRequire(import.meta.url);

function load<T>(name: string, purpose: string): T {
  try {
    return require(name) as T;
  } catch {
    throw new Error(`${purpose} needs the "${name}" package: npm install ${name}`);
  }
}

export function loadGraphQL(): GraphQL {
  return load('graphql', 'starlingjs/graphql');
}

export function loadGraphQLWS(): GraphQLWS {
  return load('graphql-ws', 'GraphQLApp subscriptions');
}
