/**
 * An in-process transport behind the same interfaces as socket.io, for fast simulations. Messages are
 * delivered asynchronously and deep-copied (copyMessage), so neither side can see the other's memory —
 * the same isolation a socket gives — and the handshake goes through the same version check.
 */
import { describeZodIssues } from '../protocol/errors.ts';
import { Handshake, type ClientMessage, type ServerMessage } from '../protocol/messages.ts';
import type { ClientConnection, ClientTransport, ServerTransport } from '../protocol/transport.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';

/**
 * A deep copy of a protocol message: plain objects, arrays and primitives by hand, binary fields as fresh
 * Uint8Arrays of exactly their bytes, anything else (a Date, a Map, a class instance) by structuredClone. Protocol
 * messages are JSON data plus binary fields, and structuredClone of them cost ~50 µs per Adult update (its
 * serializer takes each element of a number array one by one; issue 16) against ~2 µs here. Binary fields copy
 * only the bytes they view, where structuredClone copies the whole underlying buffer.
 */
export function copyMessage(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyMessage(value[i]);
    return out;
  }
  if (value instanceof Uint8Array) return new Uint8Array(value);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = copyMessage((value as Record<string, unknown>)[key]);
  return out;
}

type Listener<T extends unknown[]> = (...args: T) => void;

class Emitter<T extends unknown[]> {
  private readonly listeners: Array<Listener<T>> = [];
  on(l: Listener<T>): void {
    this.listeners.push(l);
  }
  emit(...args: T): void {
    for (const l of this.listeners) l(...args);
  }
}

export interface MemoryHub {
  readonly server: ServerTransport;
  connect(handshake: Handshake): ClientTransport;
}

export function createMemoryHub(): MemoryHub {
  const connectionListeners = new Emitter<[ClientConnection]>();
  let closed = false;
  const liveClients = new Set<() => void>();
  const deliver = (fn: () => void): void => {
    setImmediate(fn);
  };

  const server: ServerTransport = {
    onConnection(handler) {
      connectionListeners.on(handler);
    },
    async close() {
      closed = true;
      for (const drop of [...liveClients]) drop();
    },
  };

  function connect(handshake: Handshake): ClientTransport {
    const toClient = new Emitter<[unknown]>();
    const toServer = new Emitter<[unknown]>();
    const clientConnect = new Emitter<[]>();
    const clientDisconnect = new Emitter<[string]>();
    const serverDisconnect = new Emitter<[string]>();
    const refused = new Emitter<[string, string]>();
    let open = false;

    const drop = (reason: string): void => {
      if (!open) return;
      open = false;
      liveClients.delete(dropFromServer);
      deliver(() => serverDisconnect.emit(reason));
      deliver(() => clientDisconnect.emit(reason));
    };
    const dropFromServer = (): void => drop('server shutting down');

    deliver(() => {
      const parsed = Handshake.safeParse(handshake);
      if (closed) {
        refused.emit('TESSERA_ERR_INTERNAL', 'the in-memory coordinator is closed');
        return;
      }
      if (!parsed.success) {
        refused.emit('TESSERA_ERR_MESSAGE_INVALID', `Invalid handshake: ${describeZodIssues(parsed.error.issues)}`);
        return;
      }
      if (parsed.data.protocolVersion !== PROTOCOL_VERSION) {
        refused.emit('TESSERA_ERR_PROTOCOL_VERSION', `Protocol version mismatch: client speaks ${parsed.data.protocolVersion}, coordinator speaks ${PROTOCOL_VERSION}.`);
        return;
      }
      open = true;
      liveClients.add(dropFromServer);
      const connection: ClientConnection = {
        handshake: parsed.data,
        send(message: ServerMessage) {
          if (!open) return;
          const copy = copyMessage(message);
          deliver(() => open && toClient.emit(copy));
        },
        onMessage: (h) => toServer.on(h),
        onDisconnect: (h) => serverDisconnect.on(h),
        disconnect: (reason) => drop(reason),
      };
      connectionListeners.emit(connection);
      clientConnect.emit();
    });

    return {
      send(message: ClientMessage) {
        if (!open) return;
        const copy = copyMessage(message);
        deliver(() => open && toServer.emit(copy));
      },
      onMessage: (h) => toClient.on(h),
      onConnect: (h) => clientConnect.on(h),
      onDisconnect: (h) => clientDisconnect.on(h),
      onRefused: (h) => refused.on(h),
      close: () => drop('client closed'),
    };
  }

  return { server, connect };
}
