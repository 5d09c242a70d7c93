// Keeps a verification's status page current while a check runs. The page marks its state
// element with data-status-url (a small JSON endpoint) and data-poll-seconds; this asks the
// endpoint, less and less often while nothing changes, and when the step changes it fetches the
// page once and swaps the new state in, without reloading. Without JavaScript the page reloads
// itself instead (a meta refresh inside <noscript>).
(function () {
  "use strict";
  var state = document.querySelector("[data-status-url]");
  if (!state || !window.fetch || !window.DOMParser) return;
  var base = 1000 * (parseInt(state.getAttribute("data-poll-seconds"), 10) || 2);
  var wait = base / 2;

  function later(ms) {
    window.setTimeout(function () {
      if (document.hidden) {
        document.addEventListener("visibilitychange", function resume() {
          document.removeEventListener("visibilitychange", resume);
          poll();
        });
      } else {
        poll();
      }
    }, ms);
  }

  function changed(answer) {
    return (
      answer.step !== state.getAttribute("data-verification-step") ||
      answer.slow !== state.hasAttribute("data-provider-slow")
    );
  }

  function swap(html) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var fresh = page.querySelector("[data-verification-status]");
    if (!fresh) {
      window.location.reload();
      return;
    }
    var messages = page.querySelector(".messages");
    if (messages) state.parentNode.insertBefore(document.adoptNode(messages), state);
    fresh = document.adoptNode(fresh);
    state.replaceWith(fresh);
    document.title = page.title;
    var heading = fresh.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
    state = fresh;
    if (state.hasAttribute("data-status-url")) {
      base = 1000 * (parseInt(state.getAttribute("data-poll-seconds"), 10) || 2);
      wait = base / 2;
      later(wait);
    }
  }

  function poll() {
    fetch(state.getAttribute("data-status-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store",
    })
      .then(function (response) {
        if (response.status === 403 || response.status === 404) {
          window.location.reload(); // signed out, or gone: the page says what to do
          return null;
        }
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (answer) {
        if (!answer) return;
        if (!changed(answer)) {
          base = 1000 * answer.poll_seconds;
          wait = Math.min(wait * 1.5, base * 3);
          later(wait);
          return;
        }
        return fetch(answer.page, {
          credentials: "same-origin",
          headers: { Accept: "text/html" },
          cache: "no-store",
        }).then(function (response) {
          if (response.redirected) {
            window.location.assign(response.url); // to the log-in page, say
            return;
          }
          if (!response.ok) throw new Error("status " + response.status);
          return response.text().then(swap);
        });
      })
      .catch(function () {
        wait = Math.min(wait * 2, 60000); // the server or the network is struggling: back off
        later(wait);
      });
  }

  later(wait);
})();
