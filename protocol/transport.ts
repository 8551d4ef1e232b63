/**
 * The transport seam (DESIGN.md "Seams"): socket.io for real deployments, in-memory for fast simulations.
 * The round code speaks only these interfaces, so the same code runs in both. Transports move opaque
 * messages; validation against protocol/messages.ts happens in the coordinator and client, at the boundary.
 */
import type { ClientMessage, Handshake, ServerMessage } from './messages.ts';

/** A client whose key handshake verified (protocol/auth.ts): the organisation is the roster's, not the claim. */
export interface ProvenIdentity {
  readonly clientId: string;
  readonly orgId: string;
  readonly publicKey: Uint8Array;
}

/** The coordinator's view of one connected client. */
export interface ClientConnection {
  /** The handshake; on an authenticating transport its `orgId` is already replaced by the roster's. */
  readonly handshake: Handshake;
  /**
   * Set by transports that authenticate (socket.io): this connection proved possession of the roster key
   * of `handshake.clientId`. Undefined on the in-memory transport of simulations, which trusts its callers.
   */
  readonly identity?: ProvenIdentity | undefined;
  send(message: ServerMessage): void;
  /** Raw inbound messages: `unknown` until parsed. */
  onMessage(handler: (raw: unknown) => void): void;
  onDisconnect(handler: (reason: string) => void): void;
  /** `final`: tell the client why, and that it must not reconnect (e.g. replaced by a newer proven connection). */
  disconnect(reason: string, final?: { code: string; message: string }): void;
  /** Raises this connection's inbound message limit to what its task needs (transports without limits omit it). */
  setMessageLimit?(bytes: number): void;
}

export interface ServerTransport {
  /** Called once per accepted connection (the handshake has already passed the version check). */
  onConnection(handler: (connection: ClientConnection) => void): void;
  close(): Promise<void>;
}

/** The client node's side of a connection. */
export interface ClientTransport {
  send(message: ClientMessage): void;
  onMessage(handler: (raw: unknown) => void): void;
  onConnect(handler: () => void): void;
  onDisconnect(handler: (reason: string) => void): void;
  /** A refused connection (protocol version mismatch, failed key proof, duplicate): code and readable message. Final. */
  onRefused(handler: (code: string, message: string) => void): void;
  /**
   * The coordinator's Ed25519 public key as proven in this connection's handshake, or undefined when the
   * transport does not authenticate the coordinator (in-memory simulations). A client that trusts a coordinator
   * for something (e.g. central DP placement) checks this key, never a key named in a message.
   */
  coordinatorIdentity?(): Uint8Array | undefined;
  close(): void;
}
