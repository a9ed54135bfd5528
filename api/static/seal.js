/*! Copyright Seal widget (seal.js): the <copyright-seal> web component that rights holders embed with
 *  <script async src="https://HOST/seal.js" data-seal="SEAL_ID" data-work="WORK_ID"></script>.
 *  It shows a small badge; a click opens a panel with the copyright statement, the rights status,
 *  the licence terms, the licences granted so far and a "Get licence" link, all read from
 *  GET {HOST}/api/v1/seal/... . Dependency-free, shadow-DOM encapsulated, never throws into the page.
 */
(function () {
  'use strict';
  try {
    var W = window, D = document, TAG = 'copyright-seal';
    if (!W.customElements || !W.fetch || !Element.prototype.attachShadow) return;

    /** This script's tag; the API lives at the origin it was loaded from. */
    var cur = D.currentScript, me = cur && cur.dataset && cur.dataset.seal ? cur : null;
    var isSeal = function (s) { return /\/seal\.js(?:[?#]|$)/.test(s.getAttribute('src') || ''); };
    var originOf = function (s) {
      try { return new URL(s.src, location.href).origin; } catch (e) { return ''; }
    };

    // ---- helpers -------------------------------------------------------------------------------
    /** Creates an element with a class, text (always via textContent) and attributes. */
    function el(tag, cls, text, attrs) {
      var n = D.createElement(tag);
      if (cls) n.className = cls;
      if (text != null) n.textContent = String(text);
      if (attrs) for (var k in attrs) n.setAttribute(k, attrs[k]);
      return n;
    }
    /** Only http(s) links from the API are followed; anything else (javascript:, data:) is dropped. */
    function safeUrl(u, base) {
      if (typeof u !== 'string' || !u) return null;
      try {
        var x = new URL(u, base || location.href);
        return x.protocol === 'https:' || x.protocol === 'http:' ? x.href : null;
      } catch (e) { return null; }
    }
    /** ISO 8601 timestamp to YYYY-MM-DD (the date as written, i.e. UTC for a Z timestamp). */
    function day(s) {
      var m = /^(\d{4}-\d{2}-\d{2})/.exec(String(s || ''));
      return m ? m[1] : '';
    }
    function str(v) { return v == null ? '' : String(v); }

    /** One request per URL per page, however many seals show the same work. A request that times
     *  out (5 s), cannot connect, or meets 429 or a 5xx is tried again, 1.5 s and then 4 s later: the
     *  first view of a page registers it on the platform, which can take longer than one try allows
     *  on a busy server, and the reader would otherwise see no seal at all. A clear answer (404 for an
     *  unregistered page, a malformed body) is final. */
    var inflight = {};
    var RETRY_MS = [1500, 4000];
    function attempt(url) {
      var ctl = W.AbortController ? new AbortController() : null;
      var timer = setTimeout(function () { if (ctl) ctl.abort(); }, 5000);
      return fetch(url, { mode: 'cors', credentials: 'omit', signal: ctl ? ctl.signal : undefined })
        .then(function (r) {
          if (!r.ok) {
            var e = new Error('seal: HTTP ' + r.status);
            e.again = r.status === 429 || r.status >= 500;
            throw e;
          }
          return r.json();
        }, function (err) {
          var e = new Error('seal: ' + (err && err.name === 'AbortError' ? 'timed out' : 'unreachable'));
          e.again = true;
          throw e;
        })
        .then(function (j) {
          clearTimeout(timer);
          if (!j || typeof j !== 'object' || !j.work || typeof j.work !== 'object') throw new Error('seal: bad answer');
          return j;
        }, function (e) { clearTimeout(timer); throw e; });
    }
    function load(url) {
      if (inflight[url]) return inflight[url];
      function from(n) {
        return attempt(url).catch(function (e) {
          if (!e.again || n >= RETRY_MS.length) throw e;
          return new Promise(function (ok) { setTimeout(ok, RETRY_MS[n]); }).then(function () { return from(n + 1); });
        });
      }
      var p = from(0);
      p.catch(function () { delete inflight[url]; });
      return (inflight[url] = p);
    }

    // ---- styles and icon -------------------------------------------------------------------------
    var CSS = [
      ':host{display:inline-block;position:relative;vertical-align:middle}',
      // Outer page rules beat :host, so the inherited-property reset sits on an inner wrapper.
      '#root{all:initial;display:block;position:relative;color:var(--fg);',
      'font:13px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI","PingFang SC","Hiragino Sans GB","Microsoft YaHei",',
      '"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif}',
      ':host{--fg:#1f2328;--mute:#5b636d;--bg:#fff;--line:#d8dee4;--acc:#b3261e;--acc-fg:#fff;--chip:#e8f5ec;--chip-fg:#1a7f37}',
      '@media (prefers-color-scheme:dark){:host{--fg:#e6edf3;--mute:#9aa4af;--bg:#1c2128;--line:#373e47;',
      '--acc:#e5534b;--acc-fg:#fff;--chip:#1f3a2a;--chip-fg:#6bd68a}}',
      ':host([hidden]),[hidden]{display:none!important}',
      '*{box-sizing:border-box}',
      '#badge{all:unset;box-sizing:border-box;display:inline-flex;align-items:center;gap:5px;height:28px;',
      'padding:0 10px 0 7px;border:1px solid var(--line);border-radius:14px;background:var(--bg);color:var(--fg);',
      'font:inherit;font-size:12px;font-weight:600;white-space:nowrap;cursor:pointer;user-select:none}',
      '#badge:hover{border-color:var(--acc)}',
      '#badge:focus-visible{outline:2px solid var(--acc);outline-offset:2px}',
      '#badge svg{width:16px;height:16px;flex:none;color:var(--acc)}',
      '#panel{position:absolute;top:calc(100% + 6px);left:0;z-index:2147483000;width:340px;',
      'max-width:min(360px,calc(100vw - 16px));padding:14px 16px;',
      'background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:12px;',
      'box-shadow:0 8px 28px rgba(0,0,0,.18);text-align:left;font-size:13px;font-weight:400;white-space:normal}',
      '#panel:focus{outline:none}',
      'h2{margin:0 0 8px;font-size:14px;display:flex;align-items:center;gap:6px}',
      'h3{margin:12px 0 4px;font-size:11px;font-weight:600;color:var(--mute);letter-spacing:.03em}',
      'p,ul,dl{margin:0}',
      '#statement{margin:0 0 8px;font-weight:600;word-break:break-word}',
      'dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px}',
      'dt{color:var(--mute)}dd{margin:0;word-break:break-word}',
      '.chip{display:inline-block;padding:0 6px;border-radius:8px;background:var(--chip);color:var(--chip-fg);font-size:12px}',
      'a{color:var(--acc);text-decoration:none}a:hover{text-decoration:underline}',
      '.links{margin-top:4px;display:flex;flex-wrap:wrap;gap:4px 12px;font-size:12px}',
      '.offer{padding:6px 0;border-top:1px dashed var(--line)}.offer:first-of-type{border-top:0}',
      '.price{font-weight:600}',
      'ul{padding-left:18px}li{margin:1px 0}.offer ul{font-size:12px}',
      '.sites{margin-top:2px;font-size:12px;color:var(--mute);word-break:break-word}',
      '.date{white-space:nowrap}',
      '#get-licence{display:block;margin-top:14px;padding:8px 12px;border-radius:8px;text-align:center;',
      'background:var(--acc);color:var(--acc-fg);font-weight:600;text-decoration:none}',
      '#get-licence:hover{filter:brightness(1.08)}',
      // On a phone the panel is a sheet over the bottom of the screen, and "Get licence" stays in
      // view however many offers the panel lists.
      '@media (max-width:480px){#panel{position:fixed;top:auto;left:8px;right:8px;bottom:8px;width:auto;',
      'max-width:none;max-height:75vh;overflow:auto}',
      '#get-licence{position:sticky;bottom:-14px;margin:14px -16px -14px;border-radius:0 0 12px 12px;padding:12px}}'
    ].join('');
    var SHIELD = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M12 1.5 3.5 5v6.2c0 5.3 3.6 10.2 8.5 11.3 4.9-1.1 8.5-6 8.5-11.3V5L12 1.5z"/>' +
      '<path fill="#fff" d="M12.1 7.2a4.8 4.8 0 1 0 3.9 7.6l-1.5-1.1a3 3 0 1 1 0-3.4l1.5-1.1a4.8 4.8 0 0 0-3.9-2z"/></svg>';

    // ---- the element -----------------------------------------------------------------------------
    var Seal = W.customElements.get(TAG);
    if (!Seal) {
      Seal = class extends HTMLElement {
        connectedCallback() {
          try { if (!this._s) this._init(); } catch (e) { this._fail(); }
        }
        disconnectedCallback() { try { this._close(); } catch (e) { /* ignore */ } }

        /** API base: `base` attribute (set by the loader) or the origin this script came from. */
        get _base() { return (this.getAttribute('base') || Seal.base || location.origin).replace(/\/+$/, ''); }

        _init() {
          var self = this;
          var root = this._s = this.attachShadow({ mode: 'open' });
          this.hidden = true; // nothing visible until the seal is confirmed by the server
          var style = el('style', null, CSS);
          var badge = this._b = el('button', null, null, {
            id: 'badge', part: 'badge', type: 'button', 'aria-expanded': 'false', 'aria-haspopup': 'dialog',
            'aria-controls': 'panel'
          });
          badge.innerHTML = SHIELD; // static markup, no data
          badge.appendChild(el('span', null, '© 版权印 Copyright Seal'));
          var panel = this._p = el('div', null, null, {
            id: 'panel', part: 'panel', role: 'dialog', 'aria-label': '版权信息 Copyright information', tabindex: '-1'
          });
          panel.hidden = true;
          var wrap = el('div', null, null, { id: 'root' });
          wrap.append(badge, panel);
          root.append(style, wrap);

          badge.addEventListener('click', function (e) {
            e.stopPropagation();
            try { self._p.hidden ? self._open() : self._close(); } catch (err) { /* ignore */ }
          });
          this._outside = function (e) {
            try {
              var path = e.composedPath ? e.composedPath() : [];
              if (path.indexOf(self) < 0) self._close();
            } catch (err) { /* ignore */ }
          };
          this._key = function (e) {
            if (e.key === 'Escape' || e.key === 'Esc') { self._close(); try { self._b.focus(); } catch (err) { /* ignore */ } }
          };

          var work = this.getAttribute('work'), seal = this.getAttribute('seal') || '';
          var base = this._base;
          var url = work
            ? base + '/api/v1/seal/' + encodeURIComponent(work)
            : base + '/api/v1/seal/resolve?seal=' + encodeURIComponent(seal) + '&url=' + encodeURIComponent(location.href);
          if (!work && !seal) return this._fail();
          load(url).then(function (j) {
            try { self._render(j); self.hidden = false; } catch (e) { self._fail(); }
          }, function () { self._fail(); });
        }

        /** Server down, unknown work, bad answer: show nothing. */
        _fail() { try { this.hidden = true; this._close(); } catch (e) { /* ignore */ } }

        _open() {
          if (!this._p || !this._p.hidden || this.hidden) return;
          var p = this._p;
          p.hidden = false;
          p.style.left = '0px';
          this._b.setAttribute('aria-expanded', 'true');
          // Keep the panel inside the viewport when the badge sits near the right edge.
          var r = p.getBoundingClientRect(), vw = D.documentElement.clientWidth || W.innerWidth;
          if (r.right > vw - 8) p.style.left = Math.min(0, vw - 8 - r.right) + 'px';
          D.addEventListener('click', this._outside, true);
          D.addEventListener('keydown', this._key, true);
          try { p.focus({ preventScroll: true }); } catch (e) { /* ignore */ }
        }

        _close() {
          if (!this._p || this._p.hidden) return;
          this._p.hidden = true;
          this._b.setAttribute('aria-expanded', 'false');
          D.removeEventListener('click', this._outside, true);
          D.removeEventListener('keydown', this._key, true);
        }

        /** Builds the panel from the API answer; every piece of data goes in through textContent. */
        _render(j) {
          var p = this._p, base = this._base;
          var w = j.work || {}, h = j.holder || {}, st = j.status || {}, lic = j.licences || {};
          var offers = Array.isArray(j.offers) ? j.offers : [];
          p.textContent = '';

          var h2 = el('h2');
          h2.innerHTML = SHIELD.replace('<svg ', '<svg style="width:18px;height:18px;color:var(--acc)" ');
          h2.appendChild(el('span', null, '版权印 Copyright Seal'));
          p.appendChild(h2);
          p.appendChild(el('p', null, str(j.statement), { id: 'statement' }));

          var dl = el('dl', null, null, { id: 'work' });
          function row(k, v) { if (v) { dl.appendChild(el('dt', null, k)); dl.appendChild(el('dd', null, v)); } }
          row('权利人 Holder', str(h.name));
          row('作品 Work', str(w.title));
          row('作者 Author', str(w.author));
          var dd = el('dd', null, null, { id: 'status' });
          dd.appendChild(el('span', 'chip', str(st.label || st.code || '—')));
          var since = day(st.since || w.registered_at);
          if (since) dd.append(' ', el('span', 'date', since));
          dl.appendChild(el('dt', null, '状态 Status'));
          dl.appendChild(dd);
          p.appendChild(dl);

          var links = el('div', 'links');
          var cert = safeUrl(st.certificate_url, base), page = safeUrl(w.seal_page, base);
          if (cert) links.appendChild(el('a', null, '登记证书 Certificate', { href: cert, target: '_blank', rel: 'noopener', id: 'certificate' }));
          if (page) links.appendChild(el('a', null, '查看登记页 View seal page', { href: page, target: '_blank', rel: 'noopener', id: 'seal-page' }));
          if (links.firstChild) p.appendChild(links);

          p.appendChild(el('h3', null, '授权条款 Licence terms'));
          var rules = el('div', null, null, { id: 'rules' });
          if (!offers.length) rules.appendChild(el('p', null, '暂无公开授权方案 No public licence offers'));
          offers.forEach(function (o) {
            if (!o || typeof o !== 'object') return;
            var box = el('div', 'offer');
            box.appendChild(el('div', 'price', o.free ? '免费 Free' : str(o.price)));
            var list = Array.isArray(o.rules) ? o.rules : [];
            if (list.length) {
              var ul = el('ul');
              list.forEach(function (r) { ul.appendChild(el('li', null, str(r))); });
              box.appendChild(ul);
            }
            rules.appendChild(box);
          });
          p.appendChild(rules);

          p.appendChild(el('h3', null, '授权记录 Licence records'));
          var rec = el('div', null, null, { id: 'records' });
          var n = Math.max(0, parseInt(lic.count, 10) || 0);
          rec.appendChild(el('p', null, '已授权 ' + n + ' 次 Licensed ' + n + (n === 1 ? ' time' : ' times')));
          var sites = Array.isArray(lic.sites) ? lic.sites.slice(0, 10) : [];
          if (sites.length) {
            rec.appendChild(el('p', 'sites', sites.map(str).join(' · ')));
          }
          p.appendChild(rec);

          var buy = safeUrl(j.licence_url, base);
          if (buy) p.appendChild(el('a', null, '获取授权 Get licence', { id: 'get-licence', href: buy, target: '_blank', rel: 'noopener' }));
        }
      };
      var first = cur || [].filter.call(D.querySelectorAll('script[src]'), isSeal)[0];
      Seal.base = first ? originOf(first) : '';
      W.customElements.define(TAG, Seal); // upgrades <copyright-seal> elements already in the page
    }

    // ---- loader: one <copyright-seal> right after each embed script --------------------------------
    function mount(s) {
      if (!s || s.__copyrightSeal) return;
      s.__copyrightSeal = true;
      var ds = s.dataset, c = D.createElement(TAG);
      c.setAttribute('seal', ds.seal || '');
      if (ds.work) c.setAttribute('work', ds.work);
      c.setAttribute('base', originOf(s));
      var parent = s.parentNode;
      if (parent && parent !== D.head && parent !== D.documentElement) parent.insertBefore(c, s.nextSibling);
      else if (D.body) D.body.appendChild(c);
      else D.addEventListener('DOMContentLoaded', function () { try { D.body.appendChild(c); } catch (e) { /* ignore */ } });
    }
    var scripts = me ? [me] : [].filter.call(D.querySelectorAll('script[data-seal]'), isSeal);
    scripts.forEach(function (s) { try { mount(s); } catch (e) { /* ignore */ } });
  } catch (e) { /* a seal must never break the page it sits on */ }
})();
