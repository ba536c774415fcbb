import { type GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway';
import { CREDENTIAL_HEADER, type Identity, PUBLIC, createCredentialSigner } from '@partnerskap/kit';

/** What the gateway keeps per request. */
export interface GatewayContext {
  identity: Identity;
}

/**
 * Calls one subgraph with the gateway's credential for the caller's identity. Nothing the client
 * sent is forwarded: the subgraph learns who is asking only from this signed credential.
 */
export class CredentialDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  readonly #sign: (identity: Identity) => Promise<string>;

  constructor(options: { name: string; url: string; secret: string }) {
    super({ url: options.url });
    this.#sign = createCredentialSigner(options.name, options.secret);
  }

  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    request.http?.headers.set(CREDENTIAL_HEADER, await this.#sign(context.identity ?? PUBLIC));
  }
}
