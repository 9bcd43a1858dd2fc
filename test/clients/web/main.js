// The page the browser test loads: OpenFeature's official web SDK and OFREP web provider, with the
// provider's DEFAULT options (only where the API is and the token to send). The provider learns of
// changes only through the OFREP 0.3 event stream the bulk answer advertises (0.4 polls no more).
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

const params = new URLSearchParams(location.search);
const keys = params.getAll('flag');
let renders = 0;

const list = document.getElementById('flags');
for (const [index, key] of keys.entries()) {
  const item = document.createElement('li');
  item.append(`${key}: `);
  const value = document.createElement('code');
  value.id = `flag-${index}`;
  item.append(value);
  list.append(item);
}

function render() {
  const client = OpenFeature.getClient();
  renders += 1;
  for (const [index, key] of keys.entries()) {
    const element = document.getElementById(`flag-${index}`);
    const value = client.getBooleanValue(key, false);
    element.dataset.value = String(value);
    element.textContent = String(value);
    // When the value last changed, for the test to read the figure (it asserts only a bound).
    if (element.dataset.shown !== String(value)) element.dataset.changedAt = String(Date.now());
    element.dataset.shown = String(value);
  }
  document.getElementById('renders').textContent = String(renders);
}

OpenFeature.addHandler(ProviderEvents.Ready, () => {
  document.getElementById('status').textContent = 'ready';
  render();
});
OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, render);
OpenFeature.addHandler(ProviderEvents.Stale, () => (document.getElementById('status').textContent = 'stale'));
OpenFeature.addHandler(ProviderEvents.Error, () => (document.getElementById('status').textContent = 'error'));

await OpenFeature.setContext({ targetingKey: params.get('user') ?? 'browser-user' });
await OpenFeature.setProviderAndWait(new OFREPWebProvider({
  baseUrl: params.get('api'),
  headers: [['Authorization', `Bearer ${params.get('token')}`]],
}));
