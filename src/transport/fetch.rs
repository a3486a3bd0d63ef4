//! The browser's `fetch`, with one `AbortController` per request and the body read as a stream.

use chat_protocol::{ChatRequest, PolicySummary, StreamDecoder, StreamEvent};
use futures_channel::mpsc::{self, UnboundedSender};
use futures_util::future::LocalBoxFuture;
use futures_util::stream::LocalBoxStream;
use futures_util::StreamExt;
use gloo_net::http::Request;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal};

use super::{AbortHandle, KeptAs, Reply, Transport, TransportError};
use chat_protocol::ApiKey;

type Sender = UnboundedSender<Result<StreamEvent, TransportError>>;

/// Posts requests with `fetch`: to a relay (no key in the page) or, in direct mode, straight to the
/// provider with `Authorization: Bearer <key>`.
#[derive(Clone, Debug)]
pub struct FetchTransport {
    endpoint: String,
    api_key: Option<ApiKey>,
}

impl FetchTransport {
    /// A transport posting to `endpoint`, with `api_key` in direct mode.
    pub fn new(endpoint: impl Into<String>, api_key: Option<ApiKey>) -> Self {
        FetchTransport {
            endpoint: endpoint.into(),
            api_key,
        }
    }
}

/// The largest policy read (a relay's is a few hundred bytes).
const MAX_POLICY: usize = 64 * 1024;

impl FetchTransport {
    /// A relay's address beside its chat endpoint (`…/v1/{path}` for `…/v1/chat/completions`):
    /// its policy, its kept replies. None in direct mode: a provider has neither.
    fn beside(&self, path: &str) -> Option<String> {
        if self.api_key.is_some() {
            return None;
        }
        let base = self.endpoint.strip_suffix("/chat/completions")?;
        Some(format!("{base}/{path}"))
    }
}

impl Transport for FetchTransport {
    fn policy(&self) -> LocalBoxFuture<'static, Option<PolicySummary>> {
        let url = self.beside("policy");
        Box::pin(async move {
            // The browser's own `fetch` rather than gloo's builder: a plain GET, and the smaller
            // for it.
            let response: web_sys::Response =
                JsFuture::from(web_sys::window()?.fetch_with_str(&url?))
                    .await
                    .ok()?
                    .dyn_into()
                    .ok()?;
            if !response.ok() {
                return None;
            }
            let text = JsFuture::from(response.text().ok()?)
                .await
                .ok()?
                .as_string()?;
            if text.len() > MAX_POLICY {
                return None;
            }
            let json = serde_json::from_str(&text).ok()?;
            Some(PolicySummary::from_json(&json))
        })
    }

    fn send(&self, request: &ChatRequest) -> Reply {
        self.call(Opening::Post {
            body: serde_json::to_string(request),
            streaming: request.is_streaming(),
        })
    }

    fn resume(&self, name: &str) -> Option<Reply> {
        self.beside("streams/")?;
        let reply = self.call(Opening::Resume);
        reply.kept.set(name.to_owned());
        Some(reply)
    }
}

impl FetchTransport {
    /// Starts a call, its events read by a task of its own.
    fn call(&self, opening: Opening) -> Reply {
        let (sender, events) = mpsc::unbounded();
        let controller = AbortController::new().ok();
        let kept = KeptAs::default();
        let streams = self.beside("streams/");
        let call = Call {
            endpoint: self.endpoint.clone(),
            api_key: self.api_key.clone(),
            signal: controller.as_ref().map(AbortController::signal),
            kept: kept.clone(),
            streams: streams.clone(),
        };
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(error) = call.run(opening, &sender).await {
                // The receiver may be gone (the widget stopped listening): nothing to tell then.
                let _ = sender.unbounded_send(Err(error));
            }
        });
        let stopping = kept.clone();
        Reply {
            events: events.boxed_local(),
            abort: AbortHandle::new(move || {
                if let Some(controller) = &controller {
                    controller.abort();
                }
                // A relay keeps a reply going for a while when its connection drops, for a
                // resume: Stop says it is not wanted, so that the upstream stops at once.
                if let (Some(streams), Some(name)) = (&streams, stopping.take()) {
                    stop_reply(&format!("{streams}{name}"));
                }
            }),
            kept,
        }
    }
}

/// How a call begins.
enum Opening {
    /// Posting a request.
    Post {
        body: Result<String, serde_json::Error>,
        streaming: bool,
    },
    /// Following a reply the relay keeps (its name already in the call's `kept`), from its start.
    Resume,
}

struct Call {
    endpoint: String,
    api_key: Option<ApiKey>,
    signal: Option<AbortSignal>,
    /// The relay's name for the reply, when it keeps it for a resume (`X-Stream-Id`).
    kept: KeptAs,
    /// Where the relay keeps replies (`…/v1/streams/`); `None` in direct mode.
    streams: Option<String>,
}

/// Attempts in a row to resume a reply whose connection dropped, and the wait before each (the
/// relay goes on with a reply for 15 s by default once its connection drops).
const RESUME_WAITS_MS: [i32; 5] = [250, 1_000, 2_000, 4_000, 6_000];
/// The most times one reply is resumed: a connection that keeps dropping ends the reply.
const MAX_RESUMES: usize = 20;

type Chunks = LocalBoxStream<'static, Result<JsValue, JsValue>>;

/// What a resume found.
enum Resumed {
    /// The reply goes on here.
    Following(Chunks),
    /// It cannot go on: the relay no longer keeps it, or the connection stays down.
    Lost,
    /// Stop was pressed while waiting.
    Aborted,
}

/// The body of a streamed answer, as it arrives.
fn chunks_of(body: Option<web_sys::ReadableStream>) -> Option<Chunks> {
    Some(
        wasm_streams::ReadableStream::from_raw(body?)
            .into_stream()
            .boxed_local(),
    )
}

/// Waits `ms` milliseconds, or until `signal` aborts.
async fn sleep(ms: i32, signal: Option<&AbortSignal>) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let set = web_sys::window().map(|window| {
            window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
        });
        if let Some(signal) = signal {
            let _ = signal.add_event_listener_with_callback("abort", &resolve);
        }
        if !matches!(set, Some(Ok(_))) {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Asks the relay to stop the reply at `url` (`DELETE`), not waiting for its answer.
fn stop_reply(url: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let init = web_sys::RequestInit::new();
    init.set_method("DELETE");
    let _ = window.fetch_with_str_and_init(url, &init);
}

impl Call {
    async fn run(self, opening: Opening, sender: &Sender) -> Result<(), TransportError> {
        let chunks = match opening {
            Opening::Post { body, streaming } => {
                let body =
                    body.map_err(|error| TransportError::InvalidResponse(error.to_string()))?;
                match self.post(&body, streaming, sender).await? {
                    Some(chunks) => chunks,
                    None => return Ok(()),
                }
            }
            // Followed as a reply whose connection dropped before its first event: resumed
            // from the start, "Reconnecting…" shown meanwhile.
            Opening::Resume => {
                futures_util::stream::once(async { Err(JsValue::NULL) }).boxed_local()
            }
        };
        self.follow(chunks, sender).await
    }

    /// Posts the request: the chunks of a streamed answer, or `None` once a whole answer was told.
    async fn post(
        &self,
        body: &str,
        streaming: bool,
        sender: &Sender,
    ) -> Result<Option<Chunks>, TransportError> {
        let accept = if streaming {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut builder = Request::post(&self.endpoint)
            .header("Content-Type", "application/json")
            .header("Accept", accept)
            .abort_signal(self.signal.as_ref());
        if let Some(key) = &self.api_key {
            builder = builder.header("Authorization", &format!("Bearer {}", key.expose()));
        }
        let request = builder.body(body).map_err(|error| self.network(&error))?;
        let response = request.send().await.map_err(|error| self.network(&error))?;
        let status = response.status();
        if !response.ok() {
            let retry_after = response.headers().get("retry-after");
            let text = response.text().await.unwrap_or_default();
            return Err(TransportError::Http {
                status,
                error: chat_protocol::ApiError::from_body(status, &text),
                retry_after,
            });
        }
        if let Some(name) = response.headers().get("x-stream-id") {
            self.kept.set(name);
        }
        let content_type = response.headers().get("content-type").unwrap_or_default();
        // A server may answer a streaming request with one JSON body (or the reverse): the
        // content type decides how to read it.
        if !content_type.contains("text/event-stream")
            && (content_type.contains("json") || !streaming)
        {
            let text = response
                .text()
                .await
                .map_err(|error| self.network(&error))?;
            for event in StreamEvent::from_body(&text) {
                if sender.unbounded_send(Ok(event)).is_err() {
                    break;
                }
            }
            return Ok(None);
        }
        chunks_of(response.body())
            .map(Some)
            .ok_or_else(|| TransportError::InvalidResponse("the answer has no body".to_owned()))
    }

    /// Reads a streamed answer to its end, resuming it where it stopped when its connection drops
    /// and the relay keeps it.
    async fn follow(&self, mut chunks: Chunks, sender: &Sender) -> Result<(), TransportError> {
        let mut decoder = StreamDecoder::new();
        // The id of the last event read whole, across resumes.
        let mut last_id = String::new();
        let mut resumes = 0;
        loop {
            let chunk = match chunks.next().await {
                Some(Ok(chunk)) => chunk,
                None => return Ok(()),
                Some(Err(error)) => {
                    let error = self.js_failure(&error);
                    if self.streams.is_none()
                        || self.kept.get().is_none()
                        || error == TransportError::Aborted
                        || resumes == MAX_RESUMES
                    {
                        return Err(error);
                    }
                    resumes += 1;
                    if sender
                        .unbounded_send(Ok(StreamEvent::Reconnecting))
                        .is_err()
                    {
                        return Ok(());
                    }
                    match self.resume(&last_id).await {
                        Resumed::Following(more) => chunks = more,
                        Resumed::Lost => return Err(error),
                        Resumed::Aborted => return Err(TransportError::Aborted),
                    }
                    // The event cut in the middle is sent again whole.
                    decoder = StreamDecoder::new();
                    continue;
                }
            };
            let bytes = js_sys::Uint8Array::new(&chunk).to_vec();
            for event in decoder.push(&bytes) {
                if event == StreamEvent::Done {
                    // Complete: nothing to resume, and nothing for Stop to tell the relay.
                    self.kept.take();
                }
                if sender.unbounded_send(Ok(event)).is_err() {
                    return Ok(());
                }
            }
            if decoder.last_event_id() != last_id {
                decoder.last_event_id().clone_into(&mut last_id);
            }
        }
    }

    /// Asks the relay for the rest of the reply it keeps, after event `last_id` (from the start
    /// when empty), waiting a little longer before each attempt.
    async fn resume(&self, last_id: &str) -> Resumed {
        let (Some(streams), Some(name)) = (&self.streams, self.kept.get()) else {
            return Resumed::Lost;
        };
        let url = format!("{streams}{name}");
        for wait in RESUME_WAITS_MS {
            sleep(wait, self.signal.as_ref()).await;
            if self.aborted() {
                return Resumed::Aborted;
            }
            let response = match self.get(&url, last_id).await {
                Some(response) => response,
                None if self.aborted() => return Resumed::Aborted,
                // Still offline: wait and try again.
                None => continue,
            };
            match response.status() {
                200 => return chunks_of(response.body()).map_or(Resumed::Lost, Resumed::Following),
                // A relay or proxy in trouble for now: try again.
                429 | 500..=599 => continue,
                // Unknown, expired or not ours: the reply is gone.
                _ => return Resumed::Lost,
            }
        }
        Resumed::Lost
    }

    /// `GET url` for an event stream, after event `last_id`, with the browser's own `fetch` (a
    /// plain GET, and the smaller for it); `None` when it gets no answer.
    async fn get(&self, url: &str, last_id: &str) -> Option<web_sys::Response> {
        let headers = web_sys::Headers::new().ok()?;
        headers.set("Accept", "text/event-stream").ok()?;
        if !last_id.is_empty() {
            headers.set("Last-Event-ID", last_id).ok()?;
        }
        let init = web_sys::RequestInit::new();
        init.set_headers(&headers);
        init.set_signal(self.signal.as_ref());
        let fetched = web_sys::window()?.fetch_with_str_and_init(url, &init);
        JsFuture::from(fetched).await.ok()?.dyn_into().ok()
    }

    fn aborted(&self) -> bool {
        self.signal.as_ref().is_some_and(AbortSignal::aborted)
    }

    fn network(&self, error: &gloo_net::Error) -> TransportError {
        if self.aborted() {
            return TransportError::Aborted;
        }
        TransportError::Network(error.to_string())
    }

    fn js_failure(&self, error: &wasm_bindgen::JsValue) -> TransportError {
        if self.aborted() {
            return TransportError::Aborted;
        }
        let message = error
            .dyn_ref::<js_sys::Error>()
            .map(|error| String::from(error.message()))
            .unwrap_or_else(|| "the connection was lost".to_owned());
        TransportError::Network(message)
    }
}
