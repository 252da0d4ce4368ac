// The stand-in sign-up page: accepting posts invite.accepted through the
// demo's API, as Paligo's page would post it to the bot.
document.getElementById('accept').onclick = async (e) => {
  const d = e.target.dataset;
  const ev = {id: 'accept-' + Date.now(), type: 'invite.accepted', actor: {email: d.email, name: d.name}, fields: {token: d.token}};
  const r = await fetch('/api/event', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(ev)});
  const out = await r.json();
  if (out.status === 202) { e.target.hidden = true; document.getElementById('accepted').hidden = false; }
  else { alert(JSON.stringify(out.answer)); }
};
