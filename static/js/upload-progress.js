// Shows upload progress for forms marked data-upload-progress. Without JavaScript the form
// posts normally; with it, the same POST goes through XMLHttpRequest so the bytes sent can be
// shown, and the page the server answers with (errors or the next page) replaces this one.
(function () {
  "use strict";
  document.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var box = form.querySelector(".upload-progress");
      var bar = form.querySelector("progress");
      var percent = form.querySelector("[data-upload-percent]");
      if (!box || !window.FormData) return;
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      box.hidden = false;
      var request = new XMLHttpRequest();
      request.open("POST", form.action || window.location.href);
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var value = Math.round((e.loaded / e.total) * 100);
        bar.value = value;
        percent.textContent = value + "%";
      });
      request.addEventListener("load", function () {
        if (request.responseURL && request.responseURL !== window.location.href) {
          window.location.assign(request.responseURL);
          return;
        }
        document.open();
        document.write(request.responseText);
        document.close();
      });
      request.addEventListener("error", function () {
        if (button) button.disabled = false;
        box.hidden = true;
        form.submit();
      });
      request.send(new FormData(form));
    });
  });
})();
