//! `NativeServer`: the class JS holds. Every method is synchronous; none builds a Promise.
use bytes::Bytes;
use napi::bindgen_prelude::{Function, JsValue, Unknown};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use starling_core::{Config, Exchanges, HeaderBlock, Server};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::answers::AnswerQueue;
use crate::driver::Driver;
use crate::lane::{Lane, LaneEvent, LaneSink};
use crate::options::ServerOptions;
use crate::strings::HeaderText;

/// Writers of the open in-memory connections: `Some(bytes)` to write, `None` to end.
type MemoryConnections =
    Arc<parking_lot::Mutex<HashMap<u32, mpsc::UnboundedSender<Option<Vec<u8>>>>>>;

/// A server bound by the core, answering through synchronous calls.
#[napi]
pub struct NativeServer {
    driver: &'static Driver,
    lane: Arc<Lane>,
    memory: MemoryConnections,
    next_memory: u32,
    server: Option<Arc<Server>>,
    exchanges: Option<Exchanges>,
    config: Option<Config>,
}

fn headers(block: Option<HeaderText>) -> HeaderBlock {
    HeaderBlock::from(block.map(|h| h.0).unwrap_or_default())
}

#[napi]
impl NativeServer {
    /// `onEvents(meta, strs, bin, words)` is called on the JS thread with each batch (see
    /// `encode.rs`): its records are the first `words` words of `meta`, an array reused by the
    /// next batch.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        options: ServerOptions,
        #[napi(
            ts_arg_type = "(meta: Uint32Array, strs: string, bin: Buffer | null, words: number) => void"
        )]
        on_events: Function<'_, (), Unknown<'static>>,
    ) -> Result<Self> {
        let driver = Driver::get(env.raw())?;
        let lane = Lane::new(env.raw(), on_events.raw(), driver.ready.clone())?;
        Ok(NativeServer {
            driver,
            lane,
            memory: Arc::default(),
            next_memory: 0,
            server: None,
            exchanges: None,
            config: Some(options.into()),
        })
    }

    /// Binds and starts accepting. Returns the bound port (0 for a Unix socket).
    #[napi]
    pub fn listen(&mut self) -> Result<u32> {
        let config = self
            .config
            .take()
            .ok_or_else(|| Error::new(Status::GenericFailure, "already listening"))?;
        let sink = Arc::new(LaneSink(self.lane.clone()));
        let _enter = self.driver.enter();
        let server = Server::bind(config, sink)
            .map_err(|e| Error::new(Status::GenericFailure, format!("cannot listen: {e}")))?;
        let port = server.local_addr().map_or(0, |a| a.port() as u32);
        self.exchanges = Some(server.exchanges().clone());
        self.server = Some(Arc::new(server));
        Ok(port)
    }

    fn ex(&self) -> Result<&Exchanges> {
        self.exchanges
            .as_ref()
            .ok_or_else(|| Error::new(Status::GenericFailure, "server is not listening"))
    }

    /// The per-request and per-message calls (`respondText`, `write`, `wsSendText`, …) as plain
    /// functions of this server, without a `#[napi]` method's per-call cost (see `fast_calls.rs`):
    /// their only implementation, which JS sets on this object once it listens.
    #[napi(
        ts_return_type = "Pick<NativeServer, 'respondText' | 'respondBytes' | 'write' | 'writeText' | 'wsSendText' | 'wsSendBytes' | 'wsCredit'>"
    )]
    pub fn fast_calls(&self, env: Env) -> Result<Unknown<'_>> {
        let value = crate::fast_calls::functions(env.raw(), self.ex()?)?;
        // SAFETY: a live object made on this env just now.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
    }

    /// The buffer of this server's answer queue (see `answers.rs`; layout in `wire.rs`), made
    /// anew on each call, after `listen`.
    #[napi(ts_return_type = "ArrayBuffer")]
    pub fn answer_queue(&self, env: Env) -> Result<Unknown<'_>> {
        // SAFETY: a JS call on this thread with its live env.
        let (buffer, queue) = unsafe { AnswerQueue::make(env.raw(), self.ex()?.clone()) }?;
        self.lane.answer_through(env.raw(), queue);
        // SAFETY: a live value made on this env just now.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), buffer) })
    }

    /// Answers with the status's reason phrase as plain text (the canned 500 and 403).
    #[napi]
    pub fn respond_status(&self, id: u32, status: u32) -> Result<bool> {
        Ok(self.ex()?.respond_status(id, status as u16))
    }

    /// Answers with a file the core reads and sends.
    #[napi]
    pub fn send_file(
        &self,
        id: u32,
        status: u32,
        header_block: Option<HeaderText>,
        path: String,
    ) -> Result<bool> {
        Ok(self
            .ex()?
            .send_file(id, status as u16, headers(header_block), path.into()))
    }

    /// Starts a streamed response.
    #[napi]
    pub fn start(&self, id: u32, status: u32, header_block: Option<HeaderText>) -> Result<bool> {
        Ok(self.ex()?.start(id, status as u16, headers(header_block)))
    }

    /// Ends a streamed response.
    #[napi]
    pub fn end(&self, id: u32) -> Result<bool> {
        Ok(self.ex()?.end(id, None))
    }

    /// Asks for the next request-body chunk.
    #[napi]
    pub fn read_more(&self, id: u32) -> Result<bool> {
        Ok(self.ex()?.read_more(id))
    }

    /// Abandons a request: 500 if nothing was sent, the connection cut if streaming.
    #[napi]
    pub fn abort(&self, id: u32) -> Result<bool> {
        Ok(self.ex()?.abort(id))
    }

    /// Accepts a WebSocket handshake (the core answers 101 and runs the session).
    #[napi]
    pub fn ws_accept(
        &self,
        id: u32,
        subprotocol: Option<String>,
        header_block: Option<HeaderText>,
    ) -> Result<bool> {
        Ok(self.ex()?.ws_accept(id, subprotocol, headers(header_block)))
    }

    /// Starts the close handshake.
    #[napi]
    pub fn ws_close(&self, id: u32, code: u32, reason: Option<String>) -> Result<bool> {
        Ok(self
            .ex()?
            .ws_close(id, code as u16, reason.unwrap_or_default()))
    }

    /// Opens an in-memory connection served like a socket; its output arrives as `MEM_DATA` events.
    #[napi]
    pub fn connect_memory(&mut self) -> Result<u32> {
        let server = self
            .server
            .clone()
            .ok_or_else(|| Error::new(Status::GenericFailure, "server is not listening"))?;
        self.next_memory += 1;
        let conn = self.next_memory;
        let (tx, mut rx) = mpsc::unbounded_channel::<Option<Vec<u8>>>();
        self.memory.lock().insert(conn, tx);
        let lane = self.lane.clone();
        let memory = self.memory.clone();
        let _enter = self.driver.enter();
        let (mut reader, mut writer) = tokio::io::split(server.connect_memory());
        starling_core::spawn(async move {
            while let Some(Some(bytes)) = rx.recv().await {
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        starling_core::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => lane.push(LaneEvent::MemData {
                        conn,
                        data: Bytes::copy_from_slice(&buf[..n]),
                    }),
                }
            }
            memory.lock().remove(&conn);
            lane.push(LaneEvent::MemEnd { conn });
        });
        Ok(conn)
    }

    /// Writes client bytes into an in-memory connection; false once it is closed.
    #[napi]
    pub fn memory_write(&self, conn: u32, data: &[u8]) -> bool {
        self.memory
            .lock()
            .get(&conn)
            .is_some_and(|tx| tx.send(Some(data.to_vec())).is_ok())
    }

    /// Ends the client's side of an in-memory connection.
    #[napi]
    pub fn memory_end(&self, conn: u32) -> bool {
        self.memory
            .lock()
            .get(&conn)
            .is_some_and(|tx| tx.send(None).is_ok())
    }

    /// Connections open now.
    #[napi]
    pub fn connections(&self) -> u32 {
        self.server.as_ref().map_or(0, |s| s.connections() as u32)
    }

    /// Of the open connections, those parked now (idle, without an HTTP session).
    #[napi]
    pub fn parked(&self) -> u32 {
        self.server.as_ref().map_or(0, |s| s.parked() as u32)
    }

    /// Requests the application has not finished answering.
    #[napi]
    pub fn pending(&self) -> u32 {
        self.exchanges.as_ref().map_or(0, |e| e.pending() as u32)
    }

    /// Graceful shutdown in the background; a `CLOSED` event arrives when it is done.
    #[napi]
    pub fn close(&mut self, deadline_seconds: f64) {
        let lane = self.lane.clone();
        let Some(server) = self.server.take() else {
            lane.push(LaneEvent::Closed);
            return;
        };
        let deadline = Duration::from_secs_f64(deadline_seconds.clamp(0.0, 1e6));
        let _enter = self.driver.enter();
        starling_core::spawn(async move {
            server.shutdown(deadline).await;
            lane.push(LaneEvent::Closed);
        });
    }

    /// Releases the event callback; call after the `CLOSED` event.
    #[napi]
    pub fn dispose(&mut self) {
        self.lane.dispose(self.driver.env);
    }
}
