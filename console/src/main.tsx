import { render } from 'preact';
import { App } from './App.js';
import { store } from './store.js';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

store.start();
render(<App />, document.getElementById('app')!);
