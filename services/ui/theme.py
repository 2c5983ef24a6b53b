"""The look: a Gradio theme plus the CSS of the cards, history rows, notices and banner.

The card grid uses ``repeat(auto-fill, minmax(...))`` so it is one column on a phone and four or
five on a laptop without any breakpoint.
"""

from __future__ import annotations

import gradio as gr

# Colours meet WCAG 2 AA contrast (4.5:1 for text) on white and on the light violet label fill;
# the browser test audits both pages with axe-core.
ACCENT = "#5b3fd9"  # 6.6:1 on white
ACCENT_HOVER = "#4a2fc2"


def pixelplay_theme() -> gr.themes.Base:
    return gr.themes.Soft(primary_hue="violet", secondary_hue="indigo", radius_size="lg").set(
        button_primary_background_fill=ACCENT,
        button_primary_background_fill_hover=ACCENT_HOVER,
        block_label_text_color="*primary_800",
        block_title_text_color="*primary_800",
        block_info_text_color="*neutral_600",
    )


CSS = """
.gradio-container .app { max-width: 1320px !important; margin: 0 auto; }
#pp-header { display: flex; align-items: center; justify-content: space-between; gap: 12px; }
#pp-header h1 { margin: 0; font-size: 1.7rem; letter-spacing: -0.02em; }
#pp-header h1 span { color: #5b3fd9; }
.pp-tagline { margin: 2px 0 0; color: #4b5563; font-size: 0.95rem; }
.pp-user { font-size: 0.9rem; color: #4b5563; }
.pp-banner { background: #fff4d6; color: #5c4200; border: 1px solid #f0d48a; border-radius: 10px;
  padding: 10px 14px; font-size: 0.95rem; }
.pp-notice { border-radius: 10px; padding: 10px 14px; font-size: 0.95rem; margin: 4px 0; }
.pp-notice-error { background: #fdecec; color: #8a1c1c; border: 1px solid #f3b9b9; }
.pp-notice-info { background: #eef2ff; color: #2f3a8f; border: 1px solid #c9d2ff; }
.pp-notice-ok { background: #e9f8ef; color: #1d6b3a; border: 1px solid #b5e3c6; }
.pp-vibe { font-size: 1rem; padding: 8px 0; }
.pp-vibe span { display: inline-block; background: #5b3fd9; color: #fff; border-radius: 999px;
  padding: 1px 10px; margin-right: 6px; font-size: 0.8rem; text-transform: uppercase; letter-spacing: .05em; }
.pp-results-heading { font-size: 1.15rem; margin: 4px 0 12px; }
.pp-empty { color: #4b5563; padding: 12px 0; }
.pp-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 16px; }
.pp-card { display: flex; flex-direction: column; border-radius: 14px; overflow: hidden;
  background: var(--block-background-fill); border: 1px solid var(--border-color-primary);
  box-shadow: 0 1px 3px rgba(20, 10, 60, 0.08); }
.pp-art { width: 100%; aspect-ratio: 1 / 1; object-fit: cover; display: block; }
.pp-art-placeholder { display: flex; align-items: center; justify-content: center; }
.pp-art-placeholder span { font-size: 3.2rem; font-weight: 700; color: rgba(255,255,255,0.92);
  text-shadow: 0 2px 8px rgba(0,0,0,0.25); }
.pp-body { padding: 10px 12px 12px; display: flex; flex-direction: column; gap: 4px; flex: 1; }
.pp-title { font-size: 1rem; margin: 0; line-height: 1.25; overflow-wrap: anywhere; }
.pp-artist { margin: 0; color: #4b5563; font-size: 0.9rem; }
.pp-meta { margin: 0; font-size: 0.8rem; color: #4b5563; display: flex; justify-content: space-between;
  gap: 6px; }
.pp-score { font-variant-numeric: tabular-nums; color: #5b3fd9; font-weight: 600; }
.pp-radar-wrap { display: flex; justify-content: center; padding: 2px 0; }
.pp-radar { max-width: 100%; height: auto; }
.pp-why { margin: 0; font-size: 0.78rem; color: #4b5563; font-style: italic; }
.pp-audio { width: 100%; height: 32px; margin-top: 4px; }
.pp-preview { margin-top: 4px; }
.pp-embed-load { font: inherit; font-size: 0.85rem; width: 100%; border-radius: 999px; cursor: pointer;
  border: 1px solid #157a3c; background: transparent; color: #0f5c2c; padding: 5px 12px; font-weight: 600; }
.pp-embed-load:hover { background: #157a3c; color: #fff; }
.pp-embed { width: 100%; height: 80px; border: 0; border-radius: 12px; display: block; }
.pp-actions { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-top: auto;
  padding-top: 6px; }
.pp-link { font-size: 0.85rem; color: #157a3c; font-weight: 600; text-decoration: none; margin-right: auto; }
.pp-link:hover { text-decoration: underline; }
.pp-btn { font: inherit; font-size: 0.82rem; border-radius: 999px; border: 1px solid #5b3fd9;
  background: transparent; color: #5b3fd9; padding: 3px 12px; cursor: pointer; }
.pp-btn:hover { background: #5b3fd9; color: #fff; }
.pp-history { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 8px; }
.pp-history-item { display: flex; align-items: center; gap: 12px; padding: 8px; border-radius: 12px;
  border: 1px solid var(--border-color-primary); background: var(--block-background-fill); flex-wrap: wrap; }
.pp-thumb { width: 56px; height: 56px; border-radius: 8px; object-fit: cover; flex: none; }
.pp-thumb-empty { display: flex; align-items: center; justify-content: center; background: #ece8ff;
  color: #5b3fd9; font-weight: 700; font-size: 1.3rem; }
.pp-history-text { display: flex; flex-direction: column; flex: 1; min-width: 180px; }
.pp-history-query { overflow-wrap: anywhere; }
.pp-history-when { font-size: 0.8rem; color: #4b5563; }
.pp-history-actions { display: flex; gap: 6px; }
.pp-history-total { font-size: 0.8rem; color: #4b5563; }
/* Album art is square; the placeholder is a wide band so a card without art stays compact. */
.pp-art-placeholder { aspect-ratio: 16 / 9; }
@media (max-width: 520px) { .pp-grid { gap: 12px; } }
"""

# Forwards clicks on ``[data-action]`` buttons inside an HTML component to its Python ``click``
# listener with the button's data attributes; clicks elsewhere are ignored. Delegated from the
# component root, so it keeps working when the HTML is replaced by a new page of results.
ACTION_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-action]');
  if (!button || !element.contains(button)) return;
  event.preventDefault();
  trigger('click', {action: button.dataset.action, track_id: button.dataset.trackId || null,
                    entry_id: button.dataset.entryId || null});
});
"""

# The result cards' own behaviour, all in the browser:
# - "Play on Spotify" swaps its button for Spotify's embed player. Nothing is requested from Spotify
#   before that click, and only a track embed URL on open.spotify.com becomes an iframe.
# - Cards still waiting for art or a preview ([data-pending]) poll the UI's /cards/enrichment every
#   2 s and swap in what arrived. Each card polls at most 30 times (about a minute); the poll stops
#   as soon as no card waits, and starts again when a new page of cards is rendered.
CARD_JS = """
const EMBED = /^https:\\/\\/open\\.spotify\\.com\\/embed\\/track\\/[0-9A-Za-z]{22}$/;
element.addEventListener('click', (event) => {
  const button = event.target.closest('.pp-embed-load');
  if (!button || !element.contains(button)) return;
  event.preventDefault();
  const src = button.dataset.embedSrc || '';
  if (!EMBED.test(src)) return;
  const frame = document.createElement('iframe');
  frame.className = 'pp-embed';
  frame.src = src;
  frame.title = button.getAttribute('aria-label') || 'Spotify player';
  frame.allow = 'encrypted-media';
  frame.loading = 'lazy';
  button.replaceWith(frame);
});
const POLL_MS = 2000, MAX_POLLS = 30, MAX_IDS = 48;
const endpoint = new URL('cards/enrichment', document.baseURI);
let timer = null;
const waiting = () => [...element.querySelectorAll('article.pp-card[data-pending]')]
  .filter((card) => Number(card.dataset.polls || 0) < MAX_POLLS);
const schedule = () => {
  if (timer === null && waiting().length) timer = setTimeout(poll, POLL_MS);
};
async function poll() {
  timer = null;
  // One request asks about at most MAX_IDS songs. Take the cards polled least so far (the sort is
  // stable, so ties keep page order): with more waiting cards than that, each tick asks about the
  // next ones. Only the cards asked about use up one of their MAX_POLLS.
  const polls = (card) => Number(card.dataset.polls || 0);
  const queue = waiting().sort((a, b) => polls(a) - polls(b));
  const ids = [...new Set(queue.map((card) => card.dataset.trackId))].slice(0, MAX_IDS);
  if (!ids.length) return;
  const asked = new Set(ids);
  const cards = queue.filter((card) => asked.has(card.dataset.trackId));
  cards.forEach((card) => { card.dataset.polls = polls(card) + 1; });
  try {
    const url = new URL(endpoint);
    url.searchParams.set('ids', ids.join(','));
    const response = await fetch(url, {credentials: 'same-origin'});
    if (response.ok) {
      const updates = (await response.json()).cards || {};
      for (const card of cards) {
        const update = updates[card.dataset.trackId];
        if (!update) continue;
        const art = card.querySelector('.pp-art');
        const fresh = document.createElement('template');
        fresh.innerHTML = update.art;
        const next = fresh.content.firstElementChild;
        if (art && next && art.getAttribute('src') !== next.getAttribute('src')) art.replaceWith(next);
        const slot = card.querySelector('.pp-preview');
        // Never interrupt a Spotify player the user opened, nor replace a preview already there.
        if (slot && update.preview && !slot.querySelector('iframe, audio')) slot.innerHTML = update.preview;
        if (update.done) card.removeAttribute('data-pending');
      }
    }
  } catch (error) {
    // A failed poll is retried at the next tick, within the same bound.
  }
  schedule();
}
new MutationObserver(schedule).observe(element, {childList: true, subtree: true});
schedule();
"""
