//! The browser's `fetch`, with one `AbortController` per request and the body read as a stream.

use chat_protocol::{ChatRequest, PolicySummary, StreamDecoder, StreamEvent};
use futures_channel::mpsc::{self, UnboundedSender};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use gloo_net::http::Request;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use std::cell::RefCell;
use std::rc::Rc;
use web_sys::{AbortController, AbortSignal};

use super::{AbortHandle, Reply, Transport, TransportError};
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
        let (sender, events) = mpsc::unbounded();
        let controller = AbortController::new().ok();
        let signal = controller.as_ref().map(AbortController::signal);
        let stream_id = Rc::new(RefCell::new(None));
        let call = Call {
            endpoint: self.endpoint.clone(),
            api_key: self.api_key.clone(),
            body: serde_json::to_string(request),
            streaming: request.is_streaming(),
            signal,
            stream_id: stream_id.clone(),
        };
        let streams = self.beside("streams/");
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(error) = call.run(&sender).await {
                // The receiver may be gone (the widget stopped listening): nothing to tell then.
                let _ = sender.unbounded_send(Err(error));
            }
        });
        Reply {
            events: events.boxed_local(),
            abort: AbortHandle::new(move || {
                if let Some(controller) = &controller {
                    controller.abort();
                }
                // A relay keeps a reply going for a while when its connection drops, for a
                // resume: Stop says it is not wanted, so that the upstream stops at once.
                if let (Some(streams), Some(id)) = (&streams, stream_id.borrow_mut().take()) {
                    stop_reply(&format!("{streams}{id}"));
                }
            }),
        }
    }
}

struct Call {
    endpoint: String,
    api_key: Option<ApiKey>,
    body: Result<String, serde_json::Error>,
    streaming: bool,
    signal: Option<AbortSignal>,
    /// The relay's id for the reply, when it keeps it for a resume (`X-Stream-Id`).
    stream_id: Rc<RefCell<Option<String>>>,
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
    async fn run(self, sender: &Sender) -> Result<(), TransportError> {
        let body = self
            .body
            .as_ref()
            .map_err(|error| TransportError::InvalidResponse(error.to_string()))?;
        let accept = if self.streaming {
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
        let request = builder
            .body(body.as_str())
            .map_err(|error| self.network(&error))?;
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
        if let Some(id) = response.headers().get("x-stream-id") {
            *self.stream_id.borrow_mut() = Some(id);
        }
        let content_type = response.headers().get("content-type").unwrap_or_default();
        // A server may answer a streaming request with one JSON body (or the reverse): the
        // content type decides how to read it.
        if !content_type.contains("text/event-stream")
            && (content_type.contains("json") || !self.streaming)
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
            return Ok(());
        }
        let body = response
            .body()
            .ok_or_else(|| TransportError::InvalidResponse("the answer has no body".to_owned()))?;
        let mut chunks = wasm_streams::ReadableStream::from_raw(body).into_stream();
        let mut decoder = StreamDecoder::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|error| self.js_failure(&error))?;
            let bytes = js_sys::Uint8Array::new(&chunk).to_vec();
            for event in decoder.push(&bytes) {
                if sender.unbounded_send(Ok(event)).is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
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
