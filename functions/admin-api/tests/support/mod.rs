//! The admin-api app over one backend family: the embedded one in a temp dir, or the AWS
//! adapters on fresh moto resources; each with an admin key.
#![allow(dead_code)]

use axum::Router;
use trustplane_core::http::AppState;
use trustplane_core::testkit::{call, local_state, mint_key, moto, Reply};

pub struct Backend {
    pub state: AppState,
    pub app: Router,
    pub admin: String,
    _dir: Box<dyn std::any::Any>,
}

impl Backend {
    async fn over(state: AppState, dir: Box<dyn std::any::Any>) -> Self {
        let admin = mint_key(&state, &["admin"]).await;
        Backend { app: admin_api::app(state.clone()), state, admin, _dir: dir }
    }

    pub async fn sqlite() -> Self {
        let (state, dir) = local_state().await;
        Self::over(state, Box::new(dir)).await
    }

    pub async fn moto() -> Self {
        Self::over(moto::state().await, Box::new(())).await
    }

    /// One request with the admin key and a JSON content type.
    pub async fn send(&self, method: &str, path: &str, body: impl Into<Vec<u8>>) -> Reply {
        let request = http::Request::builder().method(method).uri(path).header("x-api-key", &self.admin).header("content-type", "application/json");
        call(&self.app, request.body(axum::body::Body::from(body.into())).unwrap()).await
    }
}
