"""The prompt workspace: drafts proposed from the browser, per-version traffic and scores,
template highlighting. The pages themselves live in ``server/routers/workspace*.py``."""
