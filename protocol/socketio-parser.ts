/**
 * The socket.io packet parser both transports use: socket.io-parser 4.2 with a raised attachment limit.
 * Binary fields travel as separate attachments (one per Uint8Array), and the parser refuses a packet with
 * more than 10 by default (a "parse error" that drops the connection). Secure-aggregation messages carry
 * one attachment per key, share or signature of each neighbour (protocol/secagg.ts): a `secagg.keys` message
 * holds 4 per neighbour, a `secagg.unmask-shares` one per neighbour, so the limit follows the roster bound
 * (65 534 clients). The byte size of a message stays bounded by the transport's maxHttpBufferSize.
 */
import { Decoder, Encoder, PacketType, protocol } from 'socket.io-parser';

/** Four binary fields per neighbour advertisement × the largest roster, plus a few per envelope. */
export const MAX_ATTACHMENTS = 4 * 65_534 + 16;

class TesseraDecoder extends Decoder {
  constructor() {
    super({ maxAttachments: MAX_ATTACHMENTS });
  }
}

/** Pass as `parser` to socket.io's Server and to socket.io-client's `io()`. */
export const socketIoParser = { protocol, PacketType, Encoder, Decoder: TesseraDecoder };
