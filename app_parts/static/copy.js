(text) => {
  const value = text || '';
  const fallback = () => {
    const ta = document.createElement('textarea');
    ta.value = value; ta.setAttribute('readonly', ''); ta.style.position = 'fixed'; ta.style.opacity = '0';
    document.body.appendChild(ta); ta.select();
    try { document.execCommand('copy'); } catch (e) {}
    document.body.removeChild(ta);
  };
  try {
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(value).catch(fallback); }
    else { fallback(); }
  } catch (e) { fallback(); }
  return value;
}
