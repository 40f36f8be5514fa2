//! The route table as a list: every `routes()` of the web layer is built through
//! [`Routes`], which records each `(method, path)` as it adds it to the router,
//! so that [`super::route_list`] (and the access property test that walks it)
//! cannot miss a route.

use axum::handler::Handler;
use axum::routing::MethodRouter;
use axum::Router;

use super::WebState;

/// The handlers of one path, with their methods.
pub struct Methods {
    router: MethodRouter<WebState>,
    methods: Vec<&'static str>,
}

macro_rules! method {
    ($name:ident, $verb:literal) => {
        /// Adds a handler for this method.
        pub fn $name<H, T>(mut self, h: H) -> Methods
        where
            H: Handler<T, WebState>,
            T: 'static,
        {
            self.router = self.router.$name(h);
            self.methods.push($verb);
            self
        }
    };
}

impl Methods {
    fn new() -> Methods {
        Methods {
            router: MethodRouter::new(),
            methods: Vec::new(),
        }
    }
    method!(get, "GET");
    method!(post, "POST");
    method!(patch, "PATCH");
    method!(put, "PUT");
    method!(delete, "DELETE");
}

/// `GET path` → `h`.
pub fn get<H, T>(h: H) -> Methods
where
    H: Handler<T, WebState>,
    T: 'static,
{
    Methods::new().get(h)
}

/// `POST path` → `h`.
pub fn post<H, T>(h: H) -> Methods
where
    H: Handler<T, WebState>,
    T: 'static,
{
    Methods::new().post(h)
}

/// A router and the list of its routes.
pub struct Routes {
    router: Router<WebState>,
    list: Vec<(&'static str, String)>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

impl Routes {
    pub fn new() -> Routes {
        Routes {
            router: Router::new(),
            list: Vec::new(),
        }
    }

    /// Adds `path` with its methods (recorded in the list).
    pub fn route(mut self, path: &str, m: Methods) -> Routes {
        for v in &m.methods {
            self.list.push((v, path.to_string()));
        }
        self.router = self.router.route(path, m.router);
        self
    }

    /// Merges another table.
    pub fn merge(mut self, other: Routes) -> Routes {
        self.list.extend(other.list);
        self.router = self.router.merge(other.router);
        self
    }

    /// Nests another table under `prefix`.
    pub fn nest(mut self, prefix: &str, other: Routes) -> Routes {
        self.list.extend(
            other
                .list
                .into_iter()
                .map(|(m, p)| (m, format!("{prefix}{p}"))),
        );
        self.router = self.router.nest(prefix, other.router);
        self
    }

    /// Changes the router without adding routes (fallbacks, layers).
    pub fn map_router(mut self, f: impl FnOnce(Router<WebState>) -> Router<WebState>) -> Routes {
        self.router = f(self.router);
        self
    }

    /// The routes added, as `(METHOD, path)` with axum's `{param}` placeholders.
    pub fn list(&self) -> &[(&'static str, String)] {
        &self.list
    }

    pub fn into_router(self) -> Router<WebState> {
        self.router
    }
}
