/*
 * The x402 paywall page's only script (src/browser/page.ts), served by the Worker from its static
 * assets under a content-hashed path with the page's CSP nonce and Subresource Integrity. Plain
 * ES2020 for any browser with a wallet, never bundled or rewritten: it reads the embedded
 * `PaymentRequired`, finds a wallet (EIP-6963 announcements, else `window.ethereum`, EIP-1193),
 * connects, switches to the offer's chain, checks the token balance, signs the EIP-3009
 * `TransferWithAuthorization` (eth_signTypedData_v4, x402 specs/schemes/exact/scheme_exact_evm.md),
 * retries the page's URL with a V2 `PAYMENT-SIGNATURE` and shows what the paid response holds.
 * Each failure ends in a sentence for a person. After an edit, `npm run assets` renames it.
 */
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const data = $("x402-required");
  const required = JSON.parse(data.textContent);
  const offer = (required.accepts || []).find(
    (a) => a.scheme === "exact" && /^eip155:\d+$/.test(a.network),
  );
  const decimals = data.dataset.decimals === undefined ? undefined : Number(data.dataset.decimals);
  const chainName = data.dataset.chain;
  const status = $("x402-status");
  const buttons = $("x402-wallets");
  const wallets = [];
  class Stop extends Error {}

  // Wallet discovery: EIP-6963 first, the legacy injected provider as a fallback.
  window.addEventListener("eip6963:announceProvider", (event) => {
    const d = event.detail;
    if (!d || !d.provider || !d.info || wallets.some((w) => w.info.uuid === d.info.uuid)) return;
    wallets.push(d);
    render();
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));

  function render() {
    if (!offer)
      return say(
        "This page cannot pay this offer: it needs an EVM network and the exact scheme.",
        true,
      );
    const choices = wallets.length > 0 ? wallets : [{ info: { name: "" }, provider: null }];
    buttons.replaceChildren(
      ...choices.map((w) => {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent =
          "Pay " +
          data.dataset.price +
          (w.info.name ? " with " + w.info.name : " with your wallet");
        b.addEventListener("click", () => pay(w.provider || window.ethereum));
        return b;
      }),
    );
  }

  function say(text, error) {
    status.textContent = text;
    status.className = error ? "error" : "";
  }

  function busy(on) {
    for (const b of buttons.querySelectorAll("button")) b.disabled = on;
  }

  const codeOf = (e) =>
    e &&
    (e.code !== undefined ? e.code : e.data && e.data.originalError && e.data.originalError.code);
  const messageOf = (e) => (e && e.message) || String(e);
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const random = (n) => hex(crypto.getRandomValues(new Uint8Array(n)));

  function amount(units) {
    if (decimals === undefined) return units + " units of " + offer.extra.name;
    const s = BigInt(units)
      .toString()
      .padStart(decimals + 1, "0");
    const whole = s.slice(0, s.length - decimals);
    const frac = s.slice(s.length - decimals).replace(/0+$/, "");
    return whole + (frac ? "." + frac : "") + " " + offer.extra.name;
  }

  async function ask(provider, method, params, declined) {
    try {
      return await provider.request(params === undefined ? { method } : { method, params });
    } catch (e) {
      if (codeOf(e) === 4001) throw new Stop(declined);
      throw e;
    }
  }

  async function ensureChain(provider, chainId) {
    if (Number(await ask(provider, "eth_chainId")) === chainId) return;
    say("Switching your wallet to " + chainName + " …");
    try {
      await ask(
        provider,
        "wallet_switchEthereumChain",
        [{ chainId: "0x" + chainId.toString(16) }],
        "You declined to switch to " + chainName + "; this payment can only be made there.",
      );
    } catch (e) {
      if (e instanceof Stop) throw e;
      if (codeOf(e) === 4902)
        throw new Stop(
          "Your wallet does not have " +
            chainName +
            " (chain id " +
            chainId +
            "). Add that network to your wallet, then try again.",
        );
      throw new Stop("Your wallet could not switch to " + chainName + ": " + messageOf(e));
    }
    if (Number(await ask(provider, "eth_chainId")) !== chainId) {
      throw new Stop(
        "Your wallet is on another network. Switch it to " + chainName + " and try again.",
      );
    }
  }

  async function checkBalance(provider, from) {
    let raw;
    try {
      raw = await provider.request({
        method: "eth_call",
        params: [
          { to: offer.asset, data: "0x70a08231" + from.slice(2).toLowerCase().padStart(64, "0") },
          "latest",
        ],
      });
    } catch {
      return; // optional: the facilitator checks the balance anyway
    }
    if (typeof raw !== "string" || !/^0x[0-9a-fA-F]{1,64}$/.test(raw)) return;
    if (BigInt(raw) < BigInt(offer.amount)) {
      throw new Stop(
        "Your balance is too low: this costs " +
          amount(offer.amount) +
          " and your account " +
          from +
          " holds " +
          amount(BigInt(raw)) +
          ". Nothing was paid.",
      );
    }
  }

  function typedData(authorization, chainId) {
    return {
      types: {
        EIP712Domain: [
          { name: "name", type: "string" },
          { name: "version", type: "string" },
          { name: "chainId", type: "uint256" },
          { name: "verifyingContract", type: "address" },
        ],
        TransferWithAuthorization: [
          { name: "from", type: "address" },
          { name: "to", type: "address" },
          { name: "value", type: "uint256" },
          { name: "validAfter", type: "uint256" },
          { name: "validBefore", type: "uint256" },
          { name: "nonce", type: "bytes32" },
        ],
      },
      primaryType: "TransferWithAuthorization",
      domain: {
        name: offer.extra.name,
        version: offer.extra.version,
        chainId,
        verifyingContract: offer.asset,
      },
      message: authorization,
    };
  }

  async function pay(provider) {
    if (!provider)
      return say(
        "No browser wallet was found. Install a wallet extension (EIP-1193), reload this page and try again, or pay with an x402 client.",
        true,
      );
    busy(true);
    try {
      const chainId = Number(offer.network.split(":")[1]);
      say("Connecting to your wallet …");
      const accounts = await ask(
        provider,
        "eth_requestAccounts",
        undefined,
        "You declined to connect your wallet; nothing was paid.",
      );
      const from = accounts && accounts[0];
      if (!from) throw new Stop("Your wallet shared no account.");
      await ensureChain(provider, chainId);
      await checkBalance(provider, from);
      const now = Math.floor(Date.now() / 1000);
      const authorization = {
        from,
        to: offer.payTo,
        value: String(offer.amount),
        validAfter: String(now - 600),
        validBefore: String(now + offer.maxTimeoutSeconds),
        nonce: "0x" + random(32),
      };
      say("Confirm the payment of " + data.dataset.price + " in your wallet …");
      const signature = await ask(
        provider,
        "eth_signTypedData_v4",
        [from, JSON.stringify(typedData(authorization, chainId))],
        "You rejected the signature in your wallet; nothing was paid.",
      );
      const payment = {
        x402Version: 2,
        resource: required.resource,
        accepted: offer,
        payload: { signature, authorization },
      };
      if (required.extensions && required.extensions["payment-identifier"]) {
        payment.extensions = { "payment-identifier": { info: { id: "pay_" + random(16) } } };
      }
      say("Paying …");
      await show(await send(payment));
    } catch (e) {
      say(e instanceof Stop ? e.message : "Your wallet reported an error: " + messageOf(e), true);
    } finally {
      busy(false);
    }
  }

  function encode(text) {
    return btoa(Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join(""));
  }

  function decode(header) {
    try {
      return JSON.parse(
        new TextDecoder().decode(Uint8Array.from(atob(header), (c) => c.charCodeAt(0))),
      );
    } catch {
      return {};
    }
  }

  async function send(payment) {
    const init = {
      headers: {
        "PAYMENT-SIGNATURE": encode(JSON.stringify(payment)),
        Accept: "text/html,application/xhtml+xml,*/*;q=0.8",
      },
      credentials: "same-origin",
      cache: "no-store",
    };
    const url = location.href.split("#")[0];
    let response;
    try {
      response = await fetch(url, init);
    } catch {
      try {
        response = await fetch(url, init); // the same payment again: it settles at most once
      } catch {
        throw new Stop(
          "The network failed while paying. Reload the page to see whether the payment went through before paying again.",
        );
      }
    }
    if (response.ok) return response;
    let body;
    try {
      body = await response.clone().json();
    } catch {
      body = {};
    }
    const detail = body.message ? ": " + body.message : "";
    if (response.status === 402) {
      const receipt = decode(response.headers.get("PAYMENT-RESPONSE") || "");
      const reason =
        decode(response.headers.get("PAYMENT-REQUIRED") || "").error ||
        receipt.errorReason ||
        body.error ||
        "unknown reason";
      if (/insufficient/i.test(reason))
        throw new Stop(
          "Your balance is too low for this payment (" + reason + "). Nothing was charged.",
        );
      throw new Stop(
        "The payment was not accepted (" + reason + "). Nothing was charged; you can try again.",
      );
    }
    if (response.status === 409)
      throw new Stop(
        "This payment was already used or is still being processed" +
          detail +
          ". Reload the page before paying again.",
      );
    throw new Stop("The payment could not be completed (HTTP " + response.status + detail + ").");
  }

  async function show(response) {
    const type = (response.headers.get("Content-Type") || "").toLowerCase();
    if (type.includes("text/html") || type.includes("xhtml")) {
      const html = await response.text();
      document.open();
      document.write(html);
      document.close();
      return;
    }
    const main = document.querySelector("main");
    const heading = document.createElement("h1");
    heading.textContent = "Paid";
    const receipt = decode(response.headers.get("PAYMENT-RESPONSE") || "");
    const note = document.createElement("p");
    note.textContent = receipt.transaction ? "Transaction " + receipt.transaction : "";
    let content;
    if (/json|^text\//.test(type)) {
      content = document.createElement("pre");
      const text = await response.text();
      try {
        content.textContent = type.includes("json")
          ? JSON.stringify(JSON.parse(text), null, 2)
          : text;
      } catch {
        content.textContent = text;
      }
    } else {
      content = document.createElement("a");
      content.href = URL.createObjectURL(await response.blob());
      content.download = decodeURIComponent(location.pathname.split("/").pop() || "download");
      content.textContent = "Download " + content.download;
    }
    content.id = "x402-content";
    main.replaceChildren(heading, note, content);
  }

  render();
})();
