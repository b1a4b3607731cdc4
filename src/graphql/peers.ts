/**
 * The optional peers behind `starlingjs/graphql`, loaded on first use so that `import 'starlingjs'` never
 * needs them: `graphql` for every GraphQLApp, `graphql-ws` only when subscriptions are on.
 */
import { requirePeer } from '../_peers.ts';

export type GraphQL = typeof import('graphql');
export type GraphQLWS = typeof import('graphql-ws');

export function loadGraphQL(): GraphQL {
  return requirePeer('graphql', 'starlingjs/graphql');
}

export function loadGraphQLWS(): GraphQLWS {
  return requirePeer('graphql-ws', 'GraphQLApp subscriptions');
}
