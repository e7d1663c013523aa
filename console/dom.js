// Small DOM helpers: elements built from data, never from HTML text, so that nothing a vendor or a pipeline
// wrote can become markup.

/**
 * An element: el('td', {class: 'num', dataset: {testid: 'total'}}, 'text', child, …). Attributes named on* are
 * refused: handlers are added with addEventListener.
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) throw new Error(`el: ${name} is not set as an attribute`);
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  return node;
}

/** An SVG element with attributes. */
export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, String(value));
  }
  node.append(...children.flat().filter((c) => c !== undefined && c !== null));
  return node;
}

/** The element with data-testid="id" (or null). */
export function byTestId(id, root = document) {
  return root.querySelector(`[data-testid="${id}"]`);
}

/** A machine-readable number shown as text: <data value="12345">12,345</data>. */
export function number(value, text, attributes = {}) {
  return el('data', { value: String(value), ...attributes }, text);
}
