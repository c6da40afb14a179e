import { mount } from 'svelte';
import App from './App.svelte';
import { loadDeployment } from './lib/deployment.svelte';
import { wallet } from './lib/wallet.svelte';

wallet.discover();
void loadDeployment();

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app');
export default mount(App, { target });
