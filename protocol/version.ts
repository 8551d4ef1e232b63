/**
 * The wire protocol version. Bumped on any incompatible change to a message in protocol/. Checked in the
 * socket.io handshake: a client speaking another version is refused with TESSERA_ERR_PROTOCOL_VERSION.
 */
// 5: the evaluate task may carry the previous production version's weights, and the evaluation vector (plain
// fields and the masked secure vector) carries its [correct, loss, Brier] block — always in a noised release.
// 6: train and evaluate tasks name their job spec by hash (`specHash`) and carry the spec only the first time a
// connection needs it (protocol/messages.ts TrainTaskOnWire); a message with binary fields is ONE binary frame,
// its text included (protocol/socketio-parser.ts).
export const PROTOCOL_VERSION = 6;
