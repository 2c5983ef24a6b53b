"""The PixelPlay web UI: a Gradio Blocks page mounted on a FastAPI app.

Run with ``python -m services.ui.app`` (serves on ``UISettings.host:port``) or
``uvicorn services.ui.app:app``. The UI talks to the encoder, search and auth services over HTTP
only, through the typed clients (``services/ui/context.py``). FastAPI adds ``/healthz``,
``/metrics`` and ``/readyz``.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.common.contracts.search import DEFAULT_TEXT_WEIGHT, MAX_PHOTOS
from services.common.service_app import service_app, start_service
from services.ui.context import Context
from services.ui.deps import ContextDep
from services.ui.exports import exports
from services.ui.handlers import Handlers
from services.ui.headers import install_security_headers
from services.ui.moodboard import moodboard_box
from services.ui.query import SearchState
from services.ui.routes import cards as card_routes
from services.ui.routes import session as session_routes
from services.ui.routes import spotify as spotify_routes
from services.ui.session import SIGN_IN_JS, SIGN_OUT_JS
from services.ui.settings import UISettings, get_settings
from services.ui.slots import SIGNED_OUT
from services.ui.song_search import song_search_box
from services.ui.spotify import SPOTIFY_CSS
from services.ui.theme import ACTION_JS, CARD_JS, CSS, pixelplay_theme

HEADER = (
    "<div><h1>Pixel<span>Play</span></h1>"
    '<p class="pp-tagline">Upload a photo, get songs that match its mood.</p></div>'
)


def _wire(listener: Callable, fn: Callable, inputs: list, comps: dict[str, Any], **kwargs: Any) -> Any:
    """Attach ``fn`` (a handler returning a slot-name dict) to ``listener`` with exactly the
    components of its declared slots as outputs. ``functools.wraps`` keeps the handler's
    signature visible, so Gradio still injects ``gr.EventData`` and ``gr.Progress``."""
    names = fn.slots

    @functools.wraps(fn)
    def run(*args: Any) -> dict:
        # A handler may reuse another one (register → sign_in) whose extra slots are not wired here.
        out = {comps[name]: value for name, value in fn(*args).items() if name in names}
        # A click a handler ignores gives no slot; Gradio reads an empty dict as one value, so one
        # output is left unchanged explicitly.
        return out or {comps[names[0]]: gr.skip()}

    return listener(run, inputs=inputs, outputs=[comps[n] for n in names], **kwargs)


def create_blocks(ctx: Context) -> gr.Blocks:
    """The whole page: sign-in / register / reset screens, search with results, history."""
    handlers = Handlers.build(ctx)
    accounts, search, history_handlers = handlers.accounts, handlers.search, handlers.history
    spotify = handlers.spotify
    # fill_width: Gradio would cap the page at 1024 px on a laptop; theme.CSS sets our own cap.
    with gr.Blocks(title="PixelPlay", fill_width=True) as demo:
        # Server-side only; the browser holds just the HttpOnly cookie (services/ui/session.py).
        session = gr.State(dict(SIGNED_OUT))
        search_state = gr.State(SearchState())
        history_state = gr.State([])
        filter_options = gr.State(None)

        with gr.Row(elem_id="pp-header"):
            gr.HTML(HEADER)
        demo_banner = gr.HTML(elem_id="pp-demo-banner")
        notice = gr.HTML(elem_id="pp-notice")

        with gr.Column(visible=True, elem_id="pp-auth") as auth_view, gr.Tabs(selected="signin") as auth_tabs:
            with gr.Tab("Sign in", id="signin"):
                login = gr.Textbox(label="Username or email", elem_id="pp-login")
                login_password = gr.Textbox(label="Password", type="password", elem_id="pp-login-password")
                sign_in_btn = gr.Button("Sign in", variant="primary", elem_id="pp-sign-in")
            with gr.Tab("Create account", id="register"):
                reg_username = gr.Textbox(label="Username", elem_id="pp-reg-username")
                reg_email = gr.Textbox(label="Email", elem_id="pp-reg-email")
                register_password = gr.Textbox(
                    label="Password",
                    type="password",
                    elem_id="pp-reg-password",
                    info="At least 8 characters, not a common password.",
                )
                register_btn = gr.Button("Create account", variant="primary", elem_id="pp-register")
                reg_code = gr.Textbox(label="Confirmation code from the email", elem_id="pp-reg-code")
                confirm_btn = gr.Button("Confirm account", elem_id="pp-reg-confirm")
            with gr.Tab("Forgot password", id="forgot"):
                forgot_login = gr.Textbox(label="Username or email", elem_id="pp-forgot-login")
                forgot_btn = gr.Button("Email me a reset code", elem_id="pp-forgot")
                reset_code = gr.Textbox(label="Reset code from the email", elem_id="pp-reset-code")
                reset_password = gr.Textbox(
                    label="New password", type="password", elem_id="pp-reset-password"
                )
                reset_btn = gr.Button("Set new password", variant="primary", elem_id="pp-reset")

        with gr.Column(visible=False, elem_id="pp-app") as app_view:
            with gr.Row(equal_height=True):
                user_badge = gr.HTML(elem_id="pp-user-badge")
                sign_out_btn = gr.Button(
                    "Sign out", size="sm", variant="secondary", scale=0, elem_id="pp-sign-out"
                )
            spotify_comps = spotify.build_bar()
            with gr.Tabs(selected="search") as tabs:
                with gr.Tab("Search", id="search"), gr.Row():
                    with gr.Column(scale=1, min_width=280):
                        photo = gr.Image(
                            label="Your photo",
                            placeholder="Drop a photo here: JPG, PNG, WebP, GIF or HEIC (iPhone)",
                            type="filepath",
                            sources=["upload", "webcam", "clipboard"],
                            height=260,
                            elem_id="pp-photo",
                        )
                        text = gr.Textbox(
                            label="Refine with words (optional)",
                            placeholder="e.g. rainy night drive",
                            elem_id="pp-text",
                        )
                        weight = gr.Slider(
                            0,
                            1,
                            value=DEFAULT_TEXT_WEIGHT,
                            step=0.05,
                            label="Weight of the words",
                            info="0 = photo only, 1 = words only",
                            elem_id="pp-weight",
                        )
                        with gr.Accordion("Filters", open=False):
                            genres = gr.Dropdown([], multiselect=True, label="Genres", elem_id="pp-genres")
                            year_min = gr.Slider(
                                1900, 2030, value=1900, step=1, label="From year", elem_id="pp-year-min"
                            )
                            year_max = gr.Slider(
                                1900, 2030, value=2030, step=1, label="To year", elem_id="pp-year-max"
                            )
                            catalogs = gr.Dropdown(
                                [], multiselect=True, label="Catalogs", visible=False, elem_id="pp-catalogs"
                            )
                        search_btn = gr.Button("Find songs", variant="primary", elem_id="pp-search")
                        song_matches = song_search_box()
                        moodboard_files, moodboard_order, moodboard_btn = moodboard_box()
                    with gr.Column(scale=3, min_width=300):
                        vibe = gr.HTML(elem_id="pp-vibe")
                        # The songs on screen as M3U / CSV downloads and Spotify links to copy
                        # (thumbs up/down are buttons on the cards). Refreshed from ``search_state``.
                        with gr.Row(elem_id="pp-result-tools", visible=False) as result_tools:
                            export_m3u = gr.DownloadButton("Download M3U", size="sm", elem_id="pp-export-m3u")
                            export_csv = gr.DownloadButton("Download CSV", size="sm", elem_id="pp-export-csv")
                            spotify_comps |= spotify.build_save_button()
                        with gr.Accordion("Spotify links", open=False, visible=False) as links_box:
                            export_links = gr.Textbox(
                                show_label=False, lines=3, max_lines=8, buttons=["copy"], interactive=False,
                                elem_id="pp-export-links",
                            )  # fmt: skip
                        results = gr.HTML(elem_id="pp-results", js_on_load=ACTION_JS + CARD_JS)
                        load_more = gr.Button("Load more", visible=False, elem_id="pp-load-more")
                with gr.Tab("History", id="history"):
                    with gr.Row():
                        refresh_btn = gr.Button("Refresh", size="sm", elem_id="pp-history-refresh")
                        clear_btn = gr.Button(
                            "Clear all", size="sm", variant="stop", elem_id="pp-history-clear"
                        )
                    history = gr.HTML(elem_id="pp-history", js_on_load=ACTION_JS)

        comps: dict[str, Any] = {
            "session": session,
            "search_state": search_state,
            "history_state": history_state,
            "filter_options": filter_options,
            "demo_banner": demo_banner,
            "notice": notice,
            "auth_view": auth_view,
            "auth_tabs": auth_tabs,
            "app_view": app_view,
            "user_badge": user_badge,
            "login_password": login_password,
            "register_password": register_password,
            "reg_code": reg_code,
            "reset_password": reset_password,
            "tabs": tabs,
            "photo": photo,
            "text": text,
            "weight": weight,
            "genres": genres,
            "year_min": year_min,
            "year_max": year_max,
            "catalogs": catalogs,
            "vibe": vibe,
            "results": results,
            "load_more": load_more,
            "history": history,
            "result_tools": result_tools,
            "links_box": links_box,
            "export_m3u": export_m3u,
            "export_csv": export_csv,
            "export_links": export_links,
            "song_matches": song_matches,
        }

        # The page load and the account forms update many components at once; Gradio would put a
        # "processing" overlay on each of them (several on the sign-in screen, some never cleared
        # because the component is hidden mid-event). Progress shows on the button that was pressed.
        _wire(demo.load, accounts.load, [], comps, show_progress="hidden")
        for trigger in (sign_in_btn.click, login_password.submit):
            _wire(
                trigger,
                accounts.sign_in,
                [login, login_password],
                comps,
                js=SIGN_IN_JS,
                show_progress_on=[sign_in_btn],
            )
        _wire(
            register_btn.click,
            accounts.register,
            [reg_username, reg_email, register_password],
            comps,
            show_progress_on=[register_btn],
        )
        _wire(
            confirm_btn.click,
            accounts.confirm_registration,
            [reg_code],
            comps,
            show_progress_on=[confirm_btn],
        )
        _wire(
            forgot_btn.click, accounts.forgot_password, [forgot_login], comps, show_progress_on=[forgot_btn]
        )
        _wire(
            reset_btn.click,
            accounts.reset_password,
            [reset_code, reset_password],
            comps,
            show_progress_on=[reset_btn],
        )
        _wire(sign_out_btn.click, accounts.sign_out, [], comps, js=SIGN_OUT_JS)
        # The filters, named once: the search and the moodboard both end their inputs with them.
        filter_inputs = [genres, year_min, year_max, filter_options, catalogs]
        search_inputs = [session, photo, text, weight, *filter_inputs]
        # preprocess=False: the photo reaches the handler as the uploaded file, unparsed, so a
        # broken file gets the encoder's own 4xx message instead of a Gradio error.
        for trigger in (search_btn.click, text.submit):
            _wire(trigger, search.search, search_inputs, comps, preprocess=False)
        _wire(load_more.click, search.load_more, [search_state], comps)
        _wire(results.click, search.card_action, [session, search_state], comps)
        # Start from a song: debounced matches; a pick is the card's own "Find similar".
        _wire(song_matches.input, handlers.songs.suggest, [], comps, show_progress="hidden")
        _wire(song_matches.click, search.card_action, [session, search_state], comps)
        moodboard_inputs = [session, moodboard_files, moodboard_order, *filter_inputs]
        _wire(moodboard_btn.click, handlers.moodboard.make, moodboard_inputs, comps)
        _wire(search_state.change, exports, [search_state], comps)
        _wire(refresh_btn.click, history_handlers.refresh, [session], comps)
        _wire(clear_btn.click, history_handlers.clear, [session], comps)
        _wire(
            history.click,
            history_handlers.action,
            [session, history_state, photo, filter_options],
            comps,
            preprocess=False,
        )
        spotify.wire(_wire, comps | spotify_comps)
    demo.queue(default_concurrency_limit=8)
    return demo


# Bytes a request may send. The page's uploads carry photos (a moodboard up to MAX_PHOTOS at once)
# plus the multipart framing; Gradio's other calls carry component values (file references, not
# files); the session routes a login and a password.
FORM_OVERHEAD_BYTES = 1024 * 1024
SESSION_BODY_BYTES = 16 * 1024


def body_limit(path: str, settings: UISettings) -> int:
    if path.startswith("/session/"):
        return SESSION_BODY_BYTES
    if path.endswith("/upload"):
        return settings.max_upload_bytes * MAX_PHOTOS + FORM_OVERHEAD_BYTES
    return settings.max_upload_bytes + FORM_OVERHEAD_BYTES


def create_app(settings: UISettings | None = None) -> FastAPI:
    """FastAPI (health, metrics, readiness, the session, Spotify and card routes) with the Gradio
    page mounted at ``/``."""
    cfg = settings or get_settings()
    # The page's handlers are bound to the clients when the page is built, which mounting needs
    # before the app starts; making the clients opens no connection, the lifespan closes them.
    ctx = Context.from_settings(cfg)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        start_service(app, "ui", cfg)
        app.state.context = ctx
        try:
            yield
        finally:
            ctx.close()

    api = service_app("ui", lifespan, body_limit=lambda path: body_limit(path, cfg))
    install_security_headers(api)
    api.include_router(session_routes.router)
    api.include_router(spotify_routes.make_router(cfg.spotify_redirect_url))
    api.include_router(card_routes.router)

    @api.get("/readyz")
    def readyz(context: ContextDep) -> JSONResponse:
        """200 when the search and auth services answer (the page is useless without them)."""
        status = context.readiness()
        ok = status["search"] and status["auth"]
        return JSONResponse({"ready": ok, **status}, status_code=200 if ok else 503)

    return gr.mount_gradio_app(
        api,
        create_blocks(ctx),
        path="/",
        theme=pixelplay_theme(),
        css=CSS + SPOTIFY_CSS,
        max_file_size=ctx.limits.max_upload_bytes,
        footer_links=[],
    )


app = create_app()


def proxy_options(settings: UISettings) -> dict[str, Any]:
    """uvicorn's proxy options: believe X-Forwarded-For/-Proto only from ``trusted_proxies``."""
    if not settings.trusted_proxies.strip():
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": settings.trusted_proxies}


def main() -> None:
    import uvicorn

    settings = get_settings()
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, **proxy_options(settings))


if __name__ == "__main__":
    main()
