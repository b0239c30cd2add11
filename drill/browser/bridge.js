// breakglass-drill WebAuthn bridge: navigator.credentials.get/create with `publicKey` go to the drill's key
// through Playwright bindings. Installed in every frame before any page script runs.
(() => {
  if (window.__drillBridgeInstalled) return;
  Object.defineProperty(window, "__drillBridgeInstalled", { value: true });
  const call = window.__drillWebAuthn;
  const abort = window.__drillWebAuthnAbort;
  if (typeof CredentialsContainer === "undefined" || typeof call !== "function") return;

  const b64u = (buf) => {
    const bytes = new Uint8Array(buf);
    let s = "";
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const unb64u = (str) => {
    let s = String(str).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  };
  const jsonable = (v) => {
    if (v instanceof ArrayBuffer) return b64u(v);
    if (ArrayBuffer.isView(v)) return b64u(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
    if (Array.isArray(v)) return v.map(jsonable);
    if (v && typeof v === "object") {
      const o = {};
      for (const k of Object.keys(v)) if (k !== "signal") o[k] = jsonable(v[k]);
      return o;
    }
    return v;
  };
  const define = (obj, props) => {
    for (const [k, v] of Object.entries(props)) Object.defineProperty(obj, k, { value: v, enumerable: true });
    return obj;
  };
  const credential = (kind, r) => {
    const src = r.response || {};
    let response;
    if (kind === "get") {
      response = define(Object.create(AuthenticatorAssertionResponse.prototype), {
        clientDataJSON: unb64u(src.clientDataJSON),
        authenticatorData: unb64u(src.authenticatorData),
        signature: unb64u(src.signature),
        userHandle: src.userHandle ? unb64u(src.userHandle) : null,
      });
    } else {
      response = define(Object.create(AuthenticatorAttestationResponse.prototype), {
        clientDataJSON: unb64u(src.clientDataJSON),
        attestationObject: unb64u(src.attestationObject),
      });
      define(response, {
        getTransports: () => src.transports || ["usb"],
        getAuthenticatorData: () => (src.authenticatorData ? unb64u(src.authenticatorData) : null),
        getPublicKey: () => (src.publicKey ? unb64u(src.publicKey) : null),
        getPublicKeyAlgorithm: () => (src.publicKeyAlgorithm === undefined ? -7 : src.publicKeyAlgorithm),
      });
    }
    const cred = define(Object.create(PublicKeyCredential.prototype), {
      id: r.id,
      rawId: unb64u(r.rawId || r.id),
      type: "public-key",
      response,
      authenticatorAttachment: r.authenticatorAttachment || "cross-platform",
    });
    return define(cred, {
      getClientExtensionResults: () => r.clientExtensionResults || {},
      toJSON: () => r,
    });
  };
  let counter = 0;
  const bridged = (kind, options) => {
    const signal = options.signal;
    if (signal && signal.aborted) return Promise.reject(new DOMException("The operation was aborted.", "AbortError"));
    if (options.mediation === "conditional") {
      // Conditional UI is reported unavailable; a page that calls it anyway waits until it aborts.
      return new Promise((_, reject) => {
        if (signal) signal.addEventListener("abort", () => reject(new DOMException("The operation was aborted.", "AbortError")));
      });
    }
    const id = `${Date.now()}-${Math.random().toString(36).slice(2)}-${++counter}`;
    const request = jsonable(options.publicKey);
    return new Promise((resolve, reject) => {
      let settled = false;
      if (signal) {
        signal.addEventListener("abort", () => {
          if (settled) return;
          settled = true;
          abort(id);
          reject(new DOMException("The operation was aborted.", "AbortError"));
        });
      }
      call(kind, id, request).then(
        (result) => {
          if (settled) return;
          settled = true;
          if (result && result.error) reject(new DOMException(result.error.message, result.error.name));
          else resolve(credential(kind, result));
        },
        (err) => {
          if (settled) return;
          settled = true;
          reject(new DOMException(String(err && err.message || err), "NotAllowedError"));
        },
      );
    });
  };
  const nativeGet = CredentialsContainer.prototype.get;
  const nativeCreate = CredentialsContainer.prototype.create;
  CredentialsContainer.prototype.get = function (options) {
    return options && options.publicKey ? bridged("get", options) : nativeGet.call(this, options);
  };
  CredentialsContainer.prototype.create = function (options) {
    return options && options.publicKey ? bridged("create", options) : nativeCreate.call(this, options);
  };
  if (typeof PublicKeyCredential !== "undefined") {
    PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable = () => Promise.resolve(false);
    PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
  }
})();
