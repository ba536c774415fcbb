import { type ApolloServerPlugin } from '@apollo/server';
import { ErrorCode } from '@partnerskap/common';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  NoUnusedFragmentsRule,
  isInterfaceType,
  isObjectType,
  type OperationDefinitionNode,
  specifiedRules,
  validate,
  visit,
} from 'graphql';
import { type Analysis, analysisOf } from '../analysis.js';
import { type PublicContract } from '../contract.js';
import { type GatewayContext } from '../data-source.js';

/** Options of {@link usePublicContract}. */
export interface PublicContractPluginOptions {
  /**
   * The public contract of the supergraph a request's schema came from (`LoadedSupergraph.contract`),
   * or undefined when that supergraph tags nothing public: then the public is served the whole API
   * schema, its guarded fields refused by useGuards, as before contracts.
   */
  contractOf(schema: unknown): PublicContract | undefined;
}

/** The introspection root fields that would describe the schema (`__typename` names a type of the answer only). */
const INTROSPECTION = new Set(['__schema', '__type']);
/** Each operation is validated alone (with the fragments it spreads): a document may hold operations and fragments the public never runs. */
const RULES = specifiedRules.filter((rule) => rule !== NoUnusedFragmentsRule);

/** The operation with the fragments it reaches (the analysis's), as graphql-js validates one operation. */
function alone(document: DocumentNode, operation: OperationDefinitionNode, reached: readonly string[]): DocumentNode {
  const names = new Set(reached);
  const fragments = document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION && names.has(d.name.value));
  return { kind: Kind.DOCUMENT, definitions: [operation, ...fragments] };
}

/** The types a document names (variables, fragments' and inline fragments' type conditions) that the contract lacks. */
function lackingTypes(document: DocumentNode, contract: GraphQLSchema): string[] {
  const names = new Set<string>();
  visit(document, {
    NamedType(node) {
      if (!contract.getType(node.name.value)) names.add(node.name.value);
    },
  });
  return [...names];
}

/**
 * Serves callers without a token (`identity.role === 'public'`) the public contract
 * (contract.ts) instead of the whole API schema. Their operation, valid on the whole schema (Apollo
 * validated it), is validated again against the contract's API schema (once per operation and
 * contract); one that selects what the contract lacks is refused before anything else looks at it,
 * with 401 `UNAUTHENTICATED` as before contracts (a token would let it through), the message listing
 * what the public schema lacks, and never a "Did you mean" over the whole schema. Introspection by
 * the public is answered from the contract by useLocalIntrospection; introspection beside fields of
 * the graph would be planned over the whole schema, so the public must ask it alone (400
 * `GRAPHQL_VALIDATION_FAILED`). `__typename` is answered as ever. Partners are not concerned.
 */
export function usePublicContract(options: PublicContractPluginOptions): ApolloServerPlugin<GatewayContext> {
  // Per contract (a reload brings a new one) and operation node (Apollo's document cache hands every request with the same text the same document).
  const verdicts = new WeakMap<PublicContract, WeakMap<OperationDefinitionNode, GraphQLError | null>>();
  const judge = (contract: PublicContract, document: DocumentNode, analysis: Analysis): GraphQLError | null => {
    const op = alone(document, analysis.operation, analysis.fragments);
    if (validate(contract.apiSchema, op, RULES).length === 0) return null;
    const fields = [...analysis.selected].filter((coordinate) => {
      const [type, field] = coordinate.split('.') as [string, string];
      const named = contract.apiSchema.getType(type);
      return !((isObjectType(named) || isInterfaceType(named)) && named.getFields()[field]);
    });
    const lacking = [...fields, ...lackingTypes(op, contract.apiSchema)];
    const what = lacking.length > 0 ? `: ${lacking.join(', ')}` : '';
    return new GraphQLError(
      `This operation asks for what the public schema (callers without a token) lacks${what}. Send a partner's token for the whole schema`,
      { extensions: { code: ErrorCode.UNAUTHENTICATED, fields: lacking, http: { status: 401 } } },
    );
  };
  return {
    async requestDidStart({ contextValue }) {
      if (contextValue.identity.role !== 'public') return;
      return {
        async didResolveOperation(requestContext) {
          const contract = options.contractOf(requestContext.schema);
          if (!contract) return;
          const analysis = analysisOf(requestContext);
          // An operation that cannot be picked is useResolvedOperation's to refuse.
          if (analysis instanceof GraphQLError) return;
          let byOperation = verdicts.get(contract);
          if (!byOperation) verdicts.set(contract, (byOperation = new WeakMap()));
          let verdict = byOperation.get(analysis.operation);
          if (verdict === undefined) byOperation.set(analysis.operation, (verdict = judge(contract, requestContext.document, analysis)));
          // A fresh error each time: Apollo may amend what is thrown.
          if (verdict) throw new GraphQLError(verdict.message, { extensions: verdict.extensions });
          const roots = analysis.rootFields;
          if (roots.some((name) => INTROSPECTION.has(name)) && roots.some((name) => !name.startsWith('__'))) {
            throw new GraphQLError(
              'A caller without a token asks introspection (__schema, __type) in an operation of its own: it is answered from the public schema',
              { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } } },
            );
          }
        },
      };
    },
  };
}
