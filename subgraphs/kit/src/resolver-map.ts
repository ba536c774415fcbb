import { type GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { type GraphQLResolveInfo, type GraphQLScalarType } from 'graphql';

/** A field's resolver as the generated types have it: parent and arguments typed from the contract (any of them fits `never`). */
type FieldResolver<C> = (parent: never, args: never, context: C, info: GraphQLResolveInfo) => unknown;

/** An entity's `__resolveReference`: called with the representation, the context and the info. */
type ReferenceResolver<C> = (reference: never, context: C, info: GraphQLResolveInfo) => unknown;

/**
 * A subgraph's resolvers as `npm run codegen` types them: the `Resolvers` of its
 * `src/generated/resolvers.ts` fits as it is, field resolvers and `__resolveReference` alike.
 */
export interface SubgraphResolvers<C> {
  [typeName: string]:
    | { [field: string]: FieldResolver<C> | ReferenceResolver<C> | { resolve: FieldResolver<C> } | undefined }
    // An enum's internal values: the generated map has a slot for each enum, typed like a field's result.
    | { [value: string]: string | number | Promise<string> | undefined }
    | GraphQLScalarType
    | undefined;
}

/**
 * The map as @apollo/subgraph takes it: the one place it changes type. Apollo's type has
 * `__resolveReference` as a field resolver `(parent, args, context, info)`, though Apollo calls it
 * `(reference, context, info)`, as the generated types say; no map fits both.
 */
export function apolloResolverMap<C>(resolvers: SubgraphResolvers<C>): GraphQLResolverMap<C> {
  return resolvers as GraphQLResolverMap<C>;
}
