//! The HTTPS server: std `TcpListener`, one thread per connection, rustls on top,
//! keep-alive until the client closes, asks to close, or is idle for a minute.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::api::Emulator;
use crate::http::{ReadError, Reply, read_request};

/// How long an idle keep-alive connection stays open.
const IDLE: Duration = Duration::from_secs(60);

/// Accepts connections for ever, each served in its own thread.
pub fn serve(listener: TcpListener, tls: Arc<ServerConfig>, emu: Arc<Emulator>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let (tls, emu) = (tls.clone(), emu.clone());
        std::thread::spawn(move || connection(stream, tls, &emu));
    }
}

fn connection(stream: TcpStream, tls: Arc<ServerConfig>, emu: &Arc<Emulator>) {
    let _ = stream.set_read_timeout(Some(IDLE));
    let _ = stream.set_nodelay(true);
    let Ok(conn) = ServerConnection::new(tls) else {
        return;
    };
    let mut tls = StreamOwned::new(conn, stream);
    let mut buf = Vec::new();
    loop {
        match read_request(&mut tls, &mut buf) {
            Ok(req) => {
                let reply = emu.handle(&req);
                if reply.write_to(&mut tls, req.keep_alive).is_err() || !req.keep_alive {
                    break;
                }
            }
            Err(ReadError::Bad(status, msg)) => {
                let _ = Reply::error(status, msg).write_to(&mut tls, false);
                break;
            }
            Err(_) => break,
        }
    }
    tls.conn.send_close_notify();
    let _ = std::io::Write::flush(&mut tls);
}
