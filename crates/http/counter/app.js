// The counter page: a partner shop's staff receive parcels on the shelf and hand them over with the
// code and an identity check, from a phone. It talks to the relais API with the counter's device key,
// kept in this browser's local storage.
(function () {
  'use strict';
  var params = new URLSearchParams(location.search);
  var lang = params.get('lang') || ((navigator.language || 'fr').toLowerCase().indexOf('en') === 0 ? 'en' : 'fr');
  var TEXT = {
    fr: {
      title: 'Comptoir relais', key: 'Clé du terminal du comptoir', enter: 'Entrer',
      keyHint: 'La clé commence par rk_locker_device_. Elle reste sur ce téléphone.',
      receive: 'Réception', handover: 'Remise', waiting: 'En attente',
      number: 'Numéro du colis (scanner ou saisir)', receiveGo: "Ranger sur l'étagère",
      code: 'Code de retrait du destinataire', document: "Pièce d'identité vérifiée",
      id_card: "Carte d'identité", passport: 'Passeport', driving_licence: 'Permis de conduire',
      residence_permit: 'Titre de séjour', other: 'Autre',
      last4: '4 derniers caractères du numéro de la pièce (facultatif)',
      nameMatches: 'Le nom correspond au destinataire', handoverGo: 'Remettre le colis', logout: 'Se déconnecter',
      shelved: 'Rangé sur l’étagère : ', shelfFull: 'Étagère pleine : le colis ne peut pas être reçu (', handedOver: 'Remis : ',
      until: "jusqu'au ", none: 'Aucun colis en attente.', badKey: "Cette clé n'est pas celle d'un comptoir.",
      enrolFailed: "Ce code d'enrôlement a déjà servi ou a expiré : demandez un nouveau QR code.",
      errors: {
        invalid_pickup_code: 'Code incorrect.', identity_mismatch: 'Le nom ne correspond pas : le colis reste ici.',
        rate_limited: 'Trop d’essais : réessayez plus tard.', not_found: "Ce colis n'est pas attendu ici.",
        invalid_transition: "Ce colis n'est pas dans un état qui le permet.", unauthorized: 'Clé inconnue.'
      }
    },
    en: {
      title: 'relais counter', key: "The counter terminal's key", enter: 'Sign in',
      keyHint: 'The key starts with rk_locker_device_. It stays on this phone.',
      receive: 'Receive', handover: 'Hand over', waiting: 'Waiting',
      number: 'Parcel number (scan or type)', receiveGo: 'Put on the shelf',
      code: "Recipient's pickup code", document: 'Identity document checked',
      id_card: 'Identity card', passport: 'Passport', driving_licence: 'Driving licence',
      residence_permit: 'Residence permit', other: 'Other',
      last4: "Last 4 characters of the document's number (optional)",
      nameMatches: "The name is the recipient's", handoverGo: 'Hand the parcel over', logout: 'Sign out',
      shelved: 'On the shelf: ', shelfFull: 'Shelf full: the parcel cannot be received (', handedOver: 'Handed over: ',
      until: 'until ', none: 'No parcel waiting.', badKey: 'This key is not a counter terminal key.',
      enrolFailed: 'This enrolment code is used or expired: ask for a new QR code.',
      errors: {
        invalid_pickup_code: 'Wrong code.', identity_mismatch: 'The name does not match: the parcel stays here.',
        rate_limited: 'Too many tries: try again later.', not_found: 'This parcel is not expected here.',
        invalid_transition: 'This parcel is not in a state that allows it.', unauthorized: 'Unknown key.'
      }
    }
  }[lang];
  var STORE = 'relais.counter.key';
  var key = localStorage.getItem(STORE);
  var pointId = null;

  function $(id) { return document.getElementById(id); }
  document.documentElement.lang = lang;
  document.querySelectorAll('[data-t]').forEach(function (el) { el.textContent = TEXT[el.getAttribute('data-t')]; });
  $('title').textContent = TEXT.title;

  function api(method, path, body) {
    var init = { method: method, headers: { authorization: 'Bearer ' + key } };
    if (body) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) { return { status: r.status, json: json }; });
    });
  }

  function say(text, ok) {
    var result = $('result');
    result.textContent = text;
    result.className = ok ? 'ok' : 'error';
  }

  function failure(reply) {
    var error = reply.json.error || {};
    say(TEXT.errors[error.code] || error.message || ('HTTP ' + reply.status), false);
  }

  function when(iso) {
    return new Date(iso).toLocaleString(lang === 'fr' ? 'fr-FR' : 'en-GB', { dateStyle: 'short', timeStyle: 'short' });
  }

  function show(tab) {
    ['receive', 'handover', 'waiting'].forEach(function (name) {
      $(name).hidden = name !== tab;
      $('tab-' + name).setAttribute('aria-selected', String(name === tab));
    });
    if (tab === 'waiting') { loadWaiting(); }
    var first = document.querySelector('#' + tab + ' input');
    if (first) { first.focus(); }
  }

  function loadWaiting() {
    api('GET', '/v1/parcels?state=ready_for_pickup&limit=200').then(function (reply) {
      var list = $('waiting-list');
      list.textContent = '';
      if (reply.status !== 200) { failure(reply); return; }
      if (!reply.json.items.length) { list.textContent = TEXT.none; return; }
      reply.json.items.forEach(function (p) {
        var li = document.createElement('li');
        li.textContent = p.parcel_number + ' · ' + p.recipient.name + ' · ' + TEXT.until + when(p.pickup_deadline);
        list.appendChild(li);
      });
    });
  }

  function signIn() {
    api('GET', '/v1/me').then(function (reply) {
      if (reply.status !== 200 || reply.json.role !== 'locker_device' || !reply.json.point_id) {
        localStorage.removeItem(STORE);
        $('login').hidden = false;
        $('desk').hidden = true;
        if (key) { say(reply.status === 200 ? TEXT.badKey : TEXT.errors.unauthorized, false); }
        return;
      }
      pointId = reply.json.point_id;
      localStorage.setItem(STORE, key);
      $('login').hidden = true;
      $('desk').hidden = false;
      say('', true);
      api('GET', '/v1/points/' + pointId).then(function (point) {
        if (point.status === 200) { $('shop').textContent = point.json.name + ' · ' + point.json.city; }
      });
      show('receive');
    });
  }

  $('login').addEventListener('submit', function (e) {
    e.preventDefault();
    key = $('key').value.trim();
    signIn();
  });
  $('logout').addEventListener('click', function () {
    localStorage.removeItem(STORE);
    location.reload();
  });
  ['receive', 'handover', 'waiting'].forEach(function (name) {
    $('tab-' + name).addEventListener('click', function () { show(name); });
  });
  $('receive').addEventListener('submit', function (e) {
    e.preventDefault();
    var number = $('receive-number').value.trim();
    api('POST', '/v1/points/' + pointId + '/scan-in', { parcel_number: number }).then(function (reply) {
      if (reply.status !== 200) { failure(reply); return; }
      if (reply.json.outcome === 'deposited') {
        say(TEXT.shelved + number, true);
        $('receive-number').value = '';
        $('receive-number').focus();
      } else {
        say(TEXT.shelfFull + reply.json.reason + ')', false);
      }
    });
  });
  $('handover').addEventListener('submit', function (e) {
    e.preventDefault();
    var number = $('handover-number').value.trim();
    var body = {
      parcel_number: number,
      code: $('handover-code').value.trim(),
      identity: {
        document: $('handover-document').value,
        name_matches: $('handover-name').checked,
        number_last4: $('handover-last4').value.trim() || null
      }
    };
    api('POST', '/v1/points/' + pointId + '/hand-overs', body).then(function (reply) {
      if (reply.status !== 200) { failure(reply); return; }
      say(TEXT.handedOver + number, true);
      $('handover').reset();
    });
  });

  // Enrolled from the operator's console: the QR code opened this page with a one-time code in the
  // address's fragment (never sent in a request line). It is traded once for this phone's own key,
  // then taken out of the address.
  var enrolment = /(?:^#|&)enrol=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (enrolment) {
    history.replaceState(null, '', location.pathname + location.search);
    fetch('/v1/devices/enrol', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: enrolment[1] })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) {
        if (r.status === 201 && json.secret) {
          key = json.secret;
          signIn();
        } else {
          $('login').hidden = false;
          say(TEXT.enrolFailed, false);
        }
      });
    });
  } else if (key) { signIn(); } else { $('login').hidden = false; $('key').focus(); }
})();
