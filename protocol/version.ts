/**
 * The wire protocol version. Bumped on any incompatible change to a message in protocol/. Checked in the
 * socket.io handshake: a client speaking another version is refused with TESSERA_ERR_PROTOCOL_VERSION.
 */
export const PROTOCOL_VERSION = 4;
