//! Who is calling: the peer's credentials from SO_PEERCRED, taken when the connection is
//! accepted, as snapd does. Access decisions use nothing the client says about itself.

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::net::UnixListener;

#[derive(Clone, Copy, Debug)]
pub struct Peer {
    /// `None` when the kernel gave no credentials; such a caller is refused everything.
    pub uid: Option<u32>,
}

impl Peer {
    pub fn is_root(&self) -> bool {
        self.uid == Some(0)
    }
}

impl Connected<IncomingStream<'_, UnixListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, UnixListener>) -> Self {
        match stream.io().peer_cred() {
            Ok(cred) => Peer {
                uid: Some(cred.uid()),
            },
            Err(_) => Peer { uid: None },
        }
    }
}
