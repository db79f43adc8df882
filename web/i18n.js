// i18n.js: every string the dashboard shows, in English (the default) and
// Brazilian Portuguese (the reference project's users read Portuguese), plus
// the locale-aware number and date formatting built on Intl.
//
// Layout: STRINGS[lang][key] is a template; "{name}" placeholders are filled
// from the vars object given to t(). Both languages must define the same keys
// (the browser test checks this), so a missing translation is a test failure,
// not an English word in a Portuguese page.

export const LANGS = ['en', 'pt-BR'];
export const DEFAULT_LANG = 'en';
const STORAGE_KEY = 'closecast.lang';

export const STRINGS = {
  en: {
    'doc.title': '{coin} next-day close forecast · closecast',
    'skip': 'Skip to the forecast form',
    'title': '{coin} ({sign}) price forecast',
    'lead': 'Pick a day: closecast takes the closing prices of the days before it (the model\u2019s input window) and predicts that day\u2019s close in {currency}.',
    'currency.USD': 'US dollars',
    'lang.button': 'Português',
    'lang.label': 'Mudar o idioma para português',
    'model.heading': 'Model',
    'market.label': 'Market',
    'model.version': 'Version',
    'model.trained': 'Trained on',
    'model.window': 'Input window',
    'model.windowDays': '{n} days',
    'model.epochs': 'Epochs trained',
    'model.created': 'Created',
    'model.holdout': 'Hold-out MAE',
    'model.vsPersistence': '{model} vs {persistence} for persistence',
    'model.better': 'model better by {pct}',
    'model.worse': 'model worse by {pct}',
    'model.level': 'level with persistence (MAE {model} against {persistence})',
    'model.levelDM': 'level with persistence (MAE {model} against {persistence}; Diebold\u2013Mariano p {p})',
    'model.dm': 'Diebold\u2013Mariano p {p}',
    'model.unavailable': 'Model details are unavailable: {reason}',
    'model.loading': 'Loading\u2026',
    'forecast.heading': 'Forecast',
    'forecast.date': 'Date to forecast',
    'forecast.button': 'Predict',
    'forecast.busy': 'Predicting\u2026',
    'forecast.hint': 'The next day the model can forecast is {date}.',
    'forecast.hintUnknown': 'Choose a day in YYYY-MM-DD form.',
    'forecast.horizon': 'Days to forecast',
    'forecast.h1': '1 day',
    'forecast.h7': '7 days',
    'forecast.h14': '14 days',
    'forecast.h30': '30 days',
    'horizon.heading': '{n}-day forecast from {from} to {to}',
    'horizon.date': 'Date',
    'horizon.prediction': 'Forecast',
    'horizon.low': 'Low (p{q})',
    'horizon.high': 'High (p{q})',
    'horizon.fan': 'The chart draws each band as a pair of lines, widest lightest: the {bands} central intervals.',
    'horizon.actual': 'Actual',
    'horizon.adaptive': 'The bands of {date} are adapted online from this server\u2019s {n} scored live forecasts by adaptive conformal inference (ACI): the 80 % band now aims at a miss rate of {alpha} instead of 0.2, its halves scaled by {factor}.',
    'horizon.adaptiveFACI': 'The bands of {date} are adapted online from this server\u2019s {n} scored live forecasts by fully adaptive conformal inference (FACI): the 80 % band now aims at a miss rate of {alpha} instead of 0.2, its halves scaled by {factor}.',
    'horizon.band': 'The band from p10 to p90 is the model’s uncertainty from Monte-Carlo dropout ({samples} passes); it is not calibrated: see closecast evaluate’s coverage before trusting it.',
    'horizon.bandConformal': 'The band from p10 to p90 is a conformal 80 % interval: the forecast widened by the model’s own errors on {days} days it was not fitted on ({from} – {to}), scaled by the last 30 days’ volatility. closecast evaluate reports how often it held the actual close.',
    'horizon.bandEnsemble': 'The bands are the quantiles of the naive-baseline ensemble that closecast evaluate scores: the level-by-level average of the EWMA-t, GARCH(1,1)-t, 250-day empirical and EWMA-filtered empirical quantiles, fitted on every daily return up to the day before; the forecast line stays the model\u2019s. closecast evaluate reports how often they held the actual close.',
    'horizon.recursive': 'Days after the first are recursive: each forecast is fed back as the next day’s close.',
    'horizon.direct': 'All days come from one pass of the model’s direct multi-output head.',
    'result.heading': 'Forecast for {date}',
    'result.prediction': 'Predicted close',
    'result.lastClose': 'Last known close ({date})',
    'result.change': 'Change',
    'result.window': 'Input window',
    'result.windowValue': '{from} to {to} ({n} days)',
    'result.actual': 'Actual close',
    'result.actualError': 'forecast error {err} ({pct})',
    'result.actualUnknown': 'not known yet',
    'result.model': 'Model',
    'result.raw': 'API response (JSON)',
    'result.empty': 'Pick a date and press Predict to see the forecast.',
    'chart.heading': 'Price and model predictions',
    'chart.candles': 'Candles',
    'chart.line': 'Line',
    'chart.style': 'Chart style',
    'chart.range': 'Visible range',
    'chart.3m': '3M',
    'chart.1y': '1Y',
    'chart.all': 'All',
    'chart.label': 'Daily {symbol} prices from {from} to {to}, with the model\u2019s predictions on the hold-out and validation ranges.',
    'chart.help': 'Drag to pan, scroll or pinch to zoom.',
    'legend.price': 'Daily price',
    'legend.holdout': 'Model, hold-out',
    'legend.validation': 'Model, validation',
    'legend.forecast': 'Forecast',
    'legend.band': 'Forecast band (p10–p90)',
    'series.holdout': 'hold-out',
    'series.validation': 'validation',
    'series.forecast': 'forecast',
    'metrics.heading': 'Accuracy',
    'metrics.intro': 'One-step-ahead errors on days the model never trained on, beside two baselines: persistence (tomorrow = today) and the 7-day moving average. Lower is better, except direction.',
    'metrics.holdout': 'Hold-out: {from} to {to}, {n} days',
    'metrics.validation': 'Validation: {from} to {to}, {n} days',
    'metrics.method': 'Method',
    'metrics.mae': 'MAE ($)',
    'metrics.rmse': 'RMSE ($)',
    'metrics.mape': 'MAPE',
    'metrics.smape': 'sMAPE',
    'metrics.mase': 'MASE',
    'metrics.direction': 'Direction hit rate',
    'metrics.model': 'Model',
    'metrics.persistence': 'Persistence',
    'metrics.ma7': '7-day average',
    'metrics.best': 'best',
    'metrics.none': 'No metrics in this model.',
    'metrics.level': 'A model whose MAE is within {pct} of persistence\u2019s is called level with it: the data cannot tell a difference that small apart, so every figure within {pct} of the best of its column is marked best. A dash marks a figure that does not exist for a method: persistence never predicts a direction.',
    'metrics.levelDM': 'The model is called level with persistence when the Diebold\u2013Mariano test of their daily absolute errors cannot tell the two apart (p \u2265 0.05; on the hold-out p {p}), and better or worse only when it can. In the tables, every figure within {pct} of the best of its column is marked best. A dash marks a figure that does not exist for a method: persistence never predicts a direction.',
    'live.heading': 'Live accuracy',
    'live.intro': 'Forecasts this server answered before the day closed, scored against the close that followed, beside persistence (tomorrow = today) on the same days.',
    'live.summary': 'Last {n} scored forecasts, {from} to {to}',
    'live.rows': 'Scored forecasts, newest first',
    'live.pending': 'Forecasts waiting for their day\u2019s close: {n}.',
    'live.none': 'No live predictions scored yet: forecasts of days not closed yet are scored once their close is fetched.',
    'live.unavailable': 'Live accuracy is unavailable: {reason}',
    'live.date': 'Day',
    'live.predicted': 'Predicted',
    'live.actual': 'Actual',
    'live.error': 'Error',
    'live.persistenceError': 'Persistence error',
    'live.dist': 'Forecast distributions, {n} days from {from} to {to}',
    'live.distFew': 'Forecast distributions scored on {n} day so far: scores need two.',
    'live.distNote': 'The model\u2019s 21 quantiles as recorded, scored against the best of the naive baselines (lowest pinball loss) on the same days. Pinball loss is averaged over the 5 %\u201395 % quantiles and, like the Winkler score of the 80 % interval, given in percent of the last close: lower is better. Coverage is the share of days whose close fell inside the 80 % interval: nearer 80 % is better.',
    'live.coverage80': '80 % coverage',
    'live.pinball': 'Pinball loss',
    'live.winkler80': 'Winkler 80 %',
    'live.adaptive': 'Model + ACI (served)',
    'live.adaptiveFACI': 'Model + FACI (served)',
    'live.bestBaseline': 'Best baseline: {name}',
    'baseline.persistence_gauss30': 'Persistence, Gaussian (30-day \u03c3)',
    'baseline.ewma_t': 'EWMA, Student-t',
    'baseline.garch11_t': 'GARCH(1,1), Student-t',
    'baseline.empirical250': 'Empirical quantiles (250 days)',
    'baseline.ewma_filtered250': 'Filtered empirical (EWMA, 250 days)',
    'loss.heading': 'Training loss',
    'loss.train': 'Training',
    'loss.val': 'Validation',
    'loss.epoch': 'Epoch',
    'loss.loss': 'Loss',
    'loss.summary': 'Loss over {n} epochs: training from {t0} to {t1}, validation from {v0} to {v1}.',
    'loss.none': 'No loss curve in this model.',
    'err.network': 'Could not reach the closecast server. Check that it is running and try again.',
    'err.http': 'The server answered with HTTP status {status}.',
    'err.valid': 'Dates from {from} to {to} can be forecast.',
    'err.retry': 'Try again in {s} s.',
    'err.bad_json': 'The request was not valid JSON.',
    'err.missing_date': 'Choose a date first.',
    'err.invalid_date': 'That is not a valid date; use YYYY-MM-DD.',
    'err.out_of_range': 'That date cannot be forecast.',
    'err.invalid_horizon': 'This server cannot forecast that many days.',
    'err.invalid_samples': 'This model cannot give a forecast band.',
    'err.unknown_symbol': 'The server does not know this symbol.',
    'err.too_large': 'The request was too large.',
    'err.method_not_allowed': 'The server does not accept this kind of request.',
    'err.unavailable': 'Market data is unavailable right now.',
    'err.internal': 'The server failed to answer. Try again later.',
    'err.history': 'Price history is unavailable: {reason}',
    'footer.source': 'closecast: one Go binary forecasting the next daily close.',
    'footer.api': 'API',
    'footer.charts': 'Charts by',
    'footer.notice': 'TradingView Lightweight Charts\u2122, Copyright (c) 2023 TradingView, Inc., licensed under the Apache License 2.0.',
    'footer.licence': 'licence',
    'footer.disclaimer': 'Not financial advice.',
  },
  'pt-BR': {
    'doc.title': 'Previsão do fechamento de amanhã, {coin} · closecast',
    'skip': 'Pular para o formulário de previsão',
    'title': 'Previsão da moeda {coin} ({sign})',
    'lead': 'Escolha um dia: o closecast usa os preços de fechamento dos dias anteriores (a janela de entrada do modelo) e prevê o fechamento desse dia em {currency}.',
    'currency.USD': 'dólares',
    'lang.button': 'English',
    'lang.label': 'Switch the language to English',
    'model.heading': 'Modelo',
    'market.label': 'Mercado',
    'model.version': 'Versão',
    'model.trained': 'Treinado com',
    'model.window': 'Janela de entrada',
    'model.windowDays': '{n} dias',
    'model.epochs': 'Épocas treinadas',
    'model.created': 'Criado em',
    'model.holdout': 'MAE no teste',
    'model.vsPersistence': '{model} contra {persistence} da persistência',
    'model.better': 'modelo melhor em {pct}',
    'model.worse': 'modelo pior em {pct}',
    'model.level': 'empatado com a persistência (MAE {model} contra {persistence})',
    'model.levelDM': 'empatado com a persistência (MAE {model} contra {persistence}; Diebold\u2013Mariano p {p})',
    'model.dm': 'Diebold\u2013Mariano p {p}',
    'model.unavailable': 'Detalhes do modelo indisponíveis: {reason}',
    'model.loading': 'Carregando\u2026',
    'forecast.heading': 'Previsão',
    'forecast.date': 'Data a prever',
    'forecast.button': 'Prever',
    'forecast.busy': 'Prevendo\u2026',
    'forecast.hint': 'O próximo dia que o modelo pode prever é {date}.',
    'forecast.hintUnknown': 'Escolha um dia no formato AAAA-MM-DD.',
    'forecast.horizon': 'Dias a prever',
    'forecast.h1': '1 dia',
    'forecast.h7': '7 dias',
    'forecast.h14': '14 dias',
    'forecast.h30': '30 dias',
    'horizon.heading': 'Previsão de {n} dias, de {from} a {to}',
    'horizon.date': 'Data',
    'horizon.prediction': 'Previsão',
    'horizon.low': 'Baixa (p{q})',
    'horizon.high': 'Alta (p{q})',
    'horizon.fan': 'O gráfico desenha cada faixa como um par de linhas, a mais larga mais clara: os intervalos centrais de {bands}.',
    'horizon.actual': 'Real',
    'horizon.adaptive': 'As faixas de {date} são adaptadas em tempo real a partir das {n} previsões ao vivo já avaliadas deste servidor, por inferência conformal adaptativa (ACI): a faixa de 80 % agora mira uma taxa de erro de {alpha} em vez de 0,2, com as metades escaladas por {factor}.',
    'horizon.adaptiveFACI': 'As faixas de {date} são adaptadas em tempo real a partir das {n} previsões ao vivo já avaliadas deste servidor, por inferência conformal totalmente adaptativa (FACI): a faixa de 80 % agora mira uma taxa de erro de {alpha} em vez de 0,2, com as metades escaladas por {factor}.',
    'horizon.band': 'A faixa de p10 a p90 é a incerteza do modelo por Monte-Carlo dropout ({samples} passadas); ela não é calibrada: veja a cobertura no closecast evaluate antes de confiar nela.',
    'horizon.bandConformal': 'A faixa de p10 a p90 é um intervalo conformal de 80 %: a previsão alargada pelos erros do próprio modelo em {days} dias em que ele não foi ajustado ({from} – {to}), escalados pela volatilidade dos últimos 30 dias. O closecast evaluate mostra com que frequência ela conteve o fechamento real.',
    'horizon.bandEnsemble': 'As faixas são os quantis do ensemble de referências ingênuas que o closecast evaluate avalia: a média, nível a nível, dos quantis EWMA-t, GARCH(1,1)-t, empíricos de 250 dias e empíricos filtrados por EWMA, ajustados em todos os retornos diários até a véspera; a linha da previsão continua a do modelo. O closecast evaluate mostra com que frequência elas contiveram o fechamento real.',
    'horizon.recursive': 'Os dias após o primeiro são recursivos: cada previsão volta como o fechamento do dia seguinte.',
    'horizon.direct': 'Todos os dias vêm de uma só passada da saída múltipla direta do modelo.',
    'result.heading': 'Previsão para {date}',
    'result.prediction': 'Fechamento previsto',
    'result.lastClose': 'Último fechamento conhecido ({date})',
    'result.change': 'Variação',
    'result.window': 'Janela de entrada',
    'result.windowValue': '{from} a {to} ({n} dias)',
    'result.actual': 'Fechamento real',
    'result.actualError': 'erro da previsão {err} ({pct})',
    'result.actualUnknown': 'ainda desconhecido',
    'result.model': 'Modelo',
    'result.raw': 'Resposta da API (JSON)',
    'result.empty': 'Escolha uma data e clique em Prever para ver a previsão.',
    'chart.heading': 'Preço e previsões do modelo',
    'chart.candles': 'Velas',
    'chart.line': 'Linha',
    'chart.style': 'Estilo do gráfico',
    'chart.range': 'Período visível',
    'chart.3m': '3M',
    'chart.1y': '1A',
    'chart.all': 'Tudo',
    'chart.label': 'Preços diários de {symbol} de {from} a {to}, com as previsões do modelo nos períodos de teste e de validação.',
    'chart.help': 'Arraste para mover, role ou faça pinça para ampliar.',
    'legend.price': 'Preço diário',
    'legend.holdout': 'Modelo, teste',
    'legend.validation': 'Modelo, validação',
    'legend.forecast': 'Previsão',
    'legend.band': 'Faixa da previsão (p10–p90)',
    'series.holdout': 'teste',
    'series.validation': 'validação',
    'series.forecast': 'previsão',
    'metrics.heading': 'Precisão',
    'metrics.intro': 'Erros da previsão um passo à frente em dias que o modelo nunca viu no treino, ao lado de duas referências: persistência (amanhã = hoje) e média móvel de 7 dias. Menor é melhor, exceto em direção.',
    'metrics.holdout': 'Teste: {from} a {to}, {n} dias',
    'metrics.validation': 'Validação: {from} a {to}, {n} dias',
    'metrics.method': 'Método',
    'metrics.mae': 'MAE ($)',
    'metrics.rmse': 'RMSE ($)',
    'metrics.mape': 'MAPE',
    'metrics.smape': 'sMAPE',
    'metrics.mase': 'MASE',
    'metrics.direction': 'Acerto de direção',
    'metrics.model': 'Modelo',
    'metrics.persistence': 'Persistência',
    'metrics.ma7': 'Média de 7 dias',
    'metrics.best': 'melhor',
    'metrics.none': 'Este modelo não tem métricas.',
    'metrics.level': 'Quando o MAE do modelo fica a menos de {pct} do MAE da persistência, os dois são considerados empatados: os dados não conseguem distinguir uma diferença tão pequena, e por isso todo valor a menos de {pct} do melhor da coluna aparece como melhor. O traço indica um valor que não existe para o método: a persistência nunca prevê uma direção.',
    'metrics.levelDM': 'O modelo é considerado empatado com a persistência quando o teste de Diebold\u2013Mariano sobre os erros absolutos diários dos dois não consegue distingui-los (p \u2265 0,05; no teste, p {p}), e melhor ou pior só quando consegue. Nas tabelas, todo valor a menos de {pct} do melhor da coluna aparece como melhor. O traço indica um valor que não existe para o método: a persistência nunca prevê uma direção.',
    'live.heading': 'Precisão ao vivo',
    'live.intro': 'Previsões que este servidor respondeu antes do fechamento do dia, comparadas com o fechamento que veio depois, ao lado da persistência (amanhã = hoje) nos mesmos dias.',
    'live.summary': 'Últimas {n} previsões avaliadas, de {from} a {to}',
    'live.rows': 'Previsões avaliadas, da mais recente à mais antiga',
    'live.pending': 'Previsões à espera do fechamento do seu dia: {n}.',
    'live.none': 'Nenhuma previsão ao vivo avaliada ainda: as previsões de dias ainda não fechados são avaliadas quando o fechamento é buscado.',
    'live.unavailable': 'Precisão ao vivo indisponível: {reason}',
    'live.date': 'Dia',
    'live.predicted': 'Previsto',
    'live.actual': 'Real',
    'live.error': 'Erro',
    'live.persistenceError': 'Erro da persistência',
    'live.dist': 'Distribuições previstas, {n} dias de {from} a {to}',
    'live.distFew': 'Distribuições previstas avaliadas em {n} dia até agora: as métricas precisam de dois.',
    'live.distNote': 'Os 21 quantis do modelo como registrados, avaliados contra a melhor das referências ingênuas (menor perda pinball) nos mesmos dias. A perda pinball é a média sobre os quantis de 5 % a 95 % e, como o escore de Winkler do intervalo de 80 %, é dada em porcentagem do último fechamento: menor é melhor. A cobertura é a parcela de dias cujo fechamento caiu dentro do intervalo de 80 %: mais perto de 80 % é melhor.',
    'live.coverage80': 'Cobertura 80 %',
    'live.pinball': 'Perda pinball',
    'live.winkler80': 'Winkler 80 %',
    'live.adaptive': 'Modelo + ACI (servido)',
    'live.adaptiveFACI': 'Modelo + FACI (servido)',
    'live.bestBaseline': 'Melhor referência: {name}',
    'baseline.persistence_gauss30': 'Persistência, gaussiana (\u03c3 de 30 dias)',
    'baseline.ewma_t': 'EWMA, t de Student',
    'baseline.garch11_t': 'GARCH(1,1), t de Student',
    'baseline.empirical250': 'Quantis empíricos (250 dias)',
    'baseline.ewma_filtered250': 'Empírico filtrado (EWMA, 250 dias)',
    'loss.heading': 'Perda no treinamento',
    'loss.train': 'Treino',
    'loss.val': 'Validação',
    'loss.epoch': 'Época',
    'loss.loss': 'Perda',
    'loss.summary': 'Perda em {n} épocas: treino de {t0} a {t1}, validação de {v0} a {v1}.',
    'loss.none': 'Este modelo não tem curva de perda.',
    'err.network': 'Não foi possível falar com o servidor do closecast. Verifique se ele está rodando e tente de novo.',
    'err.http': 'O servidor respondeu com o status HTTP {status}.',
    'err.valid': 'Podem ser previstas datas de {from} a {to}.',
    'err.retry': 'Tente de novo em {s} s.',
    'err.bad_json': 'A requisição não era um JSON válido.',
    'err.missing_date': 'Escolha uma data primeiro.',
    'err.invalid_date': 'Essa data não é válida; use AAAA-MM-DD.',
    'err.out_of_range': 'Essa data não pode ser prevista.',
    'err.invalid_horizon': 'Este servidor não consegue prever tantos dias.',
    'err.invalid_samples': 'Este modelo não consegue dar uma faixa de previsão.',
    'err.unknown_symbol': 'O servidor não conhece este ativo.',
    'err.too_large': 'A requisição era grande demais.',
    'err.method_not_allowed': 'O servidor não aceita esse tipo de requisição.',
    'err.unavailable': 'Os dados de mercado estão indisponíveis no momento.',
    'err.internal': 'O servidor falhou ao responder. Tente mais tarde.',
    'err.history': 'Histórico de preços indisponível: {reason}',
    'footer.source': 'closecast: um único binário Go que prevê o próximo fechamento diário.',
    'footer.api': 'API',
    'footer.charts': 'Gráficos por',
    'footer.notice': 'TradingView Lightweight Charts\u2122, Copyright (c) 2023 TradingView, Inc., licenciado sob a Apache License 2.0.',
    'footer.licence': 'licença',
    'footer.disclaimer': 'Não é recomendação de investimento.',
  },
};

let current = DEFAULT_LANG;

// URL_PARAM is the query parameter that names the page language in a link:
// ?lang=pt-BR or ?lang=en.
export const URL_PARAM = 'lang';

// normalize maps a language tag to one the page speaks: any Portuguese
// (pt, pt-BR, pt-PT) to pt-BR, any English to en, anything else to null.
export function normalize(tag) {
  const l = String(tag || '').trim().toLowerCase();
  if (l === 'pt' || l.startsWith('pt-')) return 'pt-BR';
  if (l === 'en' || l.startsWith('en-')) return 'en';
  return null;
}

// chooseLang picks the page language, first match wins: the URL's
// ?lang= (a link someone shared says which language it is in), the choice
// saved by the toggle, then the browser's languages: any Portuguese one
// means Portuguese (a reader who lists it reads it, even after English),
// else English. It is pure so that the order can be tested without a
// browser profile.
export function chooseLang({ query = '', saved = null, languages = [] } = {}) {
  const fromURL = normalize(new URLSearchParams(query).get(URL_PARAM));
  if (fromURL) return fromURL;
  if (LANGS.includes(saved)) return saved;
  if ((languages || []).some((l) => normalize(l) === 'pt-BR')) return 'pt-BR';
  return DEFAULT_LANG;
}

// initLang picks the language from the page's URL, the saved choice and
// the browser (see chooseLang). localStorage can throw (disabled storage,
// private modes); the page must still work then.
export function initLang() {
  let saved = null;
  try { saved = window.localStorage.getItem(STORAGE_KEY); } catch (_) { /* storage off: not saved */ }
  const languages = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  current = chooseLang({ query: window.location.search, saved, languages });
  return current;
}

export function lang() { return current; }

// setLang switches the language and remembers it for the next visit. When
// the address names a language (?lang=), it is changed too: it would win
// over the saved choice on a reload, and a copied link should say what the
// reader sees.
export function setLang(l) {
  if (!LANGS.includes(l)) throw new Error('unknown language ' + l);
  current = l;
  try { window.localStorage.setItem(STORAGE_KEY, l); } catch (_) { /* not remembered, still switched */ }
  const u = new URL(window.location.href);
  if (u.searchParams.has(URL_PARAM)) {
    u.searchParams.set(URL_PARAM, l);
    window.history.replaceState(window.history.state, '', u);
  }
}

// t returns the string for key in the current language with {name}
// placeholders filled from vars. An unknown key is returned as is, so a
// mistake shows up on screen (and in the key-parity test) instead of as "".
export function t(key, vars) {
  const s = (STRINGS[current] && STRINGS[current][key]) ?? STRINGS.en[key] ?? key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

// has reports whether key has a translation (used for optional error codes).
export function has(key) { return key in STRINGS[current]; }

const cache = new Map();
function nf(opts) {
  const k = current + JSON.stringify(opts);
  if (!cache.has(k)) cache.set(k, new Intl.NumberFormat(current, opts));
  return cache.get(k);
}

// quoteCurrency is the currency a market's prices are in: the quote of a
// Yahoo pair ("ETH-EUR" → EUR), US dollars for a "-USD" pair and for any
// symbol that names no ISO 4217 code (a stock ticker, an index).
export function quoteCurrency(symbol) {
  const m = /-([A-Za-z]{3})$/.exec(String(symbol || ''));
  if (!m) return 'USD';
  const code = m[1].toUpperCase();
  try {
    const ok = typeof Intl.supportedValuesOf !== 'function' || Intl.supportedValuesOf('currency').includes(code);
    return ok ? code : 'USD';
  } catch (_) {
    return 'USD';
  }
}

// currency is the ISO code money formats in (setCurrency), US dollars until
// a market says otherwise.
let currency = 'USD';

// setCurrency makes money, money0, signedMoney and currencySign use code.
export function setCurrency(code) { currency = code || 'USD'; }

// currencySign is the currency's short sign, "$" for dollars in every
// language (the title's "($)"), "€" for euros.
export function currencySign() {
  const p = nf({ style: 'currency', currency, currencyDisplay: 'narrowSymbol' }).formatToParts(0).find((x) => x.type === 'currency');
  return p ? p.value : currency;
}

// currencyName names the market's currency in a sentence: the page's own
// words for US dollars, Intl's name of any other ("euro", "British pound").
export function currencyName() {
  if (has('currency.' + currency)) return t('currency.' + currency);
  try {
    return new Intl.DisplayNames(current, { type: 'currency' }).of(currency) || currency;
  } catch (_) {
    return currency;
  }
}

// money formats the market's currency with cents: "$107,123.45" / "US$ 107.123,45".
export function money(v) {
  return nf({ style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(v);
}

// money0 formats whole units of the market's currency: "$107,123".
export function money0(v) {
  return nf({ style: 'currency', currency, minimumFractionDigits: 0, maximumFractionDigits: 0 }).format(v);
}

// signedMoney is money with an explicit sign, for changes.
export function signedMoney(v) {
  return nf({ style: 'currency', currency, signDisplay: 'exceptZero', minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(v);
}

// num formats a plain number with the given number of decimals.
export function num(v, digits = 2) {
  return nf({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
}

// pct formats a value already in percent (2.18 → "2.18%").
export function pct(v, digits = 2, signed = false) {
  return nf({ style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits, signDisplay: signed ? 'exceptZero' : 'auto' }).format(v / 100);
}

// DATE_STYLE is how each language writes a day: "Apr 1, 2026" in English,
// "01/04/2026" in Brazilian Portuguese, the form Brazilian readers (and the
// reference's pages) use.
const DATE_STYLE = {
  en: { year: 'numeric', month: 'short', day: 'numeric' },
  'pt-BR': { year: 'numeric', month: '2-digit', day: '2-digit' },
};

// date formats an ISO day "YYYY-MM-DD" for reading, in UTC so that the day
// never shifts with the viewer's time zone.
export function date(iso) {
  if (!iso) return '';
  const d = new Date(iso + 'T00:00:00Z');
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(current, { timeZone: 'UTC', ...DATE_STYLE[current] }).format(d);
}
