/**
 * The transport seam (DESIGN.md "Seams"): socket.io for real deployments, in-memory for fast simulations.
 * The round code speaks only these interfaces, so the same code runs in both. Transports move opaque
 * messages; validation against protocol/messages.ts happens in the coordinator and client, at the boundary.
 */
import type { ClientMessage, Handshake, ServerMessage } from './messages.ts';

/** The coordinator's view of one connected client. */
export interface ClientConnection {
  readonly handshake: Handshake;
  send(message: ServerMessage): void;
  /** Raw inbound messages: `unknown` until parsed. */
  onMessage(handler: (raw: unknown) => void): void;
  onDisconnect(handler: (reason: string) => void): void;
  disconnect(reason: string): void;
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
  /** A refused connection (e.g. protocol version mismatch): code and readable message. */
  onRefused(handler: (code: string, message: string) => void): void;
  /**
   * The coordinator's Ed25519 public key as proven in this connection's handshake, or undefined when the
   * transport does not authenticate the coordinator (in-memory simulations). A client that trusts a coordinator
   * for something (e.g. central DP placement) checks this key, never a key named in a message.
   */
  coordinatorIdentity?(): Uint8Array | undefined;
  close(): void;
}
