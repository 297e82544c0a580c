//! rumor's wire format: who a node is, what nodes say to each other, and how
//! it is put into bytes.
//!
//! This crate holds [`NodeId`] (listening address plus join version), the
//! [`Message`] union inside an [`Envelope`] that names the sender's listening
//! address — three families, the membership protocol ([`Gossip`]), operator
//! control ([`Control`]) and distributed grep ([`Dgrep`]) —, members'
//! [`Metadata`] and the [`Extras`] (metadata records, user broadcasts) that
//! ride beside membership updates, a MessagePack
//! codec that encodes into caller-provided buffers and decodes untrusted
//! bytes without panicking, and the TCP framing (4-byte big-endian length
//! prefix). It does no I/O of its own: sockets live in the agent and in
//! `rumor-transport`.
//!
//! Every message is fire-and-forget: a reply is a new message sent to the
//! `from` address of the envelope it answers.
//!
//! ```
//! use rumor_wire::{decode, encode_datagram, Envelope, Gossip, NodeId, DEFAULT_DATAGRAM_LIMIT};
//!
//! let me: NodeId = "127.0.0.1:3000#1".parse().unwrap();
//! let request = Gossip::JoinRequest { node: me, nonce: 7, extras: Default::default() };
//! let envelope = Envelope::new(me.addr, request);
//! let mut buf = [0u8; DEFAULT_DATAGRAM_LIMIT];
//! let len = encode_datagram(&envelope, &mut buf, DEFAULT_DATAGRAM_LIMIT).unwrap();
//! assert_eq!(decode(&buf[..len]).unwrap(), envelope);
//! ```

#![forbid(unsafe_code)]

mod codec;
mod compact;
mod control;
mod dgrep;
mod error;
mod event_record;
mod extras;
mod framing;
mod gossip;
mod message;
mod metadata;
mod node_id;
mod validate;

pub use codec::{
    DEFAULT_DATAGRAM_LIMIT, decode, decode_datagram, encode_datagram, encode_into, encode_to_vec,
    encoded_len,
};
pub use compact::{bin_header_len, update_len};
pub use control::{
    AgentInfo, Control, KeyOp, KeysAnswer, MemberInfo, MonitorRequest, WhyAnswer, WhyStep,
};
pub use dgrep::{Dgrep, DgrepChunk, DgrepDone, DgrepRequest, FileCount, GrepFlags, GrepLine};
pub use error::WireError;
pub use event_record::EventRecord;
pub use extras::{BROADCAST_LIMIT, Extras, MemberMetadata, UserBroadcast};
pub use framing::{DEFAULT_MAX_FRAME, read_frame, read_frame_bytes, read_frame_len, write_frame};
pub use gossip::{Gossip, JoinRetry, MemberState, MemberUpdate};
pub use message::{Envelope, Message, PROTOCOL_VERSION};
pub use metadata::{METADATA_KEY_LIMIT, METADATA_LIMIT, Metadata, MetadataError};
pub use node_id::{Incarnation, NodeId, Version};
