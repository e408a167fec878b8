// Price charts (a position's page, a ticket's page): candles from the page's chart.json, the
// position's levels as price lines and its fills as markers, drawn with TradingView's
// Lightweight Charts (static/vendor/lightweight-charts, loaded before this file, both deferred).
//
// Live: a push replaces the chart's hidden `#chart-live-<pk>` element (out-of-band) with one
// whose data-state holds the new last price, levels and fills; a MutationObserver on the chart
// sees the swap and redraws from it. Colours come from CSS custom properties (desk.css), so no
// style is written in the page. Pages without a chart have no [data-price-chart]: nothing runs.
(function () {
  "use strict";

  var KINDS = ["entry", "leg", "leg-resting", "take-profit", "stop", "trailing"];

  function cssVar(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  // Prices arrive as strings from Decimal; they become numbers here, for drawing only.
  function toNumber(text) {
    return text === null || text === undefined ? null : Number(text);
  }

  function bar(candle) {
    return {
      time: candle.time,
      open: toNumber(candle.open),
      high: toNumber(candle.high),
      low: toNumber(candle.low),
      close: toNumber(candle.close),
    };
  }

  function lineStyleOf(kind) {
    var styles = LightweightCharts.LineStyle;
    if (kind === "leg-resting") return styles.Dotted;
    if (kind === "stop" || kind === "trailing") return styles.Dashed;
    return styles.Solid;
  }

  function PriceChart(root) {
    this.root = root;
    this.liveId = root.getAttribute("data-live-id");
    this.lines = [];
    this.bars = [];
    this.step = 60;
  }

  PriceChart.prototype.load = function () {
    var self = this;
    fetch(this.root.getAttribute("data-chart-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("The chart could not be loaded (" + response.status + ").");
        return response.json();
      })
      .then(function (data) {
        self.draw(data);
      })
      .catch(function (error) {
        self.problem(error.message);
      });
  };

  PriceChart.prototype.problem = function (text) {
    var box = this.root.querySelector("[data-chart-problem]");
    box.textContent = text;
    box.hidden = !text;
  };

  PriceChart.prototype.draw = function (data) {
    var host = this.root.querySelector("[data-chart-canvas]");
    var text = cssVar("--text", "#17202a");
    var border = cssVar("--border", "#d9dee4");
    this.chart = LightweightCharts.createChart(host, {
      autoSize: true,
      // The logo injects a <style> element, which the strict CSP refuses; the page credits
      // TradingView Lightweight Charts under the chart instead.
      layout: { attributionLogo: false, background: { color: "transparent" }, textColor: text },
      grid: { vertLines: { color: border }, horzLines: { color: border } },
      rightPriceScale: { borderColor: border },
      timeScale: { borderColor: border, timeVisible: true, secondsVisible: false },
      // 80,000.00: prices on the market's places with thousands separators.
      localization: {
        priceFormatter: function (v) {
          return v.toLocaleString("en-US", { minimumFractionDigits: data.places, maximumFractionDigits: data.places });
        },
      },
    });
    var tick = data.tick ? Number(data.tick) : Math.pow(10, -data.places);
    this.series = this.chart.addSeries(LightweightCharts.CandlestickSeries, {
      upColor: cssVar("--success", "#1a7f37"),
      downColor: cssVar("--error", "#cf222e"),
      borderVisible: false,
      wickUpColor: cssVar("--success", "#1a7f37"),
      wickDownColor: cssVar("--error", "#cf222e"),
      // Prices drawn to the market's tick.
      priceFormat: { type: "price", precision: data.places, minMove: tick },
    });
    this.markers = LightweightCharts.createSeriesMarkers(this.series, []);
    this.step = data.timeframe_seconds || 60;
    this.bars = data.candles.map(bar);
    this.series.setData(this.bars);
    this.problem(data.problem || "");
    this.root.setAttribute("data-candles", String(this.bars.length));
    this.apply(data.state);
    this.chart.timeScale().fitContent();
    this.watch();
    this.root.setAttribute("data-chart", "drawn");
  };

  // The pushed state: levels, fills and last price; everything drawn before is replaced.
  PriceChart.prototype.apply = function (state) {
    if (!state) return;
    var self = this;
    this.lines.forEach(function (line) {
      self.series.removePriceLine(line);
    });
    this.lines = state.levels.map(function (level) {
      var kind = KINDS.indexOf(level.kind) >= 0 ? level.kind : "entry";
      return self.series.createPriceLine({
        price: toNumber(level.price),
        color: cssVar("--chart-" + kind, "#1f6feb"),
        lineWidth: 1,
        lineStyle: lineStyleOf(kind),
        axisLabelVisible: true,
        title: level.label,
      });
    });
    this.markers.setMarkers(
      state.markers.map(function (fill) {
        var buy = fill.side === "buy";
        return {
          time: fill.time,
          position: buy ? "belowBar" : "aboveBar",
          shape: buy ? "arrowUp" : "arrowDown",
          color: cssVar(buy ? "--success" : "--error", "#1f6feb"),
          text: fill.label + " @ " + fill.price,
        };
      })
    );
    this.last(state.last);
    this.root.setAttribute("data-levels", state.levels.map(function (l) { return l.label + "=" + l.price; }).join("; "));
    this.root.setAttribute("data-markers", String(state.markers.length));
    this.root.setAttribute("data-last", state.last || "");
  };

  // The last price moves the newest candle (or opens the next one once its time has come).
  PriceChart.prototype.last = function (text) {
    var price = toNumber(text);
    if (price === null || !this.bars.length) return;
    var newest = this.bars[this.bars.length - 1];
    var now = Math.floor(Date.now() / 1000);
    var current = now - (now % this.step);
    var next;
    if (current > newest.time) {
      next = { time: current, open: newest.close, high: Math.max(newest.close, price), low: Math.min(newest.close, price), close: price };
      this.bars.push(next);
    } else {
      next = { time: newest.time, open: newest.open, high: Math.max(newest.high, price), low: Math.min(newest.low, price), close: price };
      this.bars[this.bars.length - 1] = next;
    }
    this.series.update(next);
  };

  PriceChart.prototype.watch = function () {
    var self = this;
    new MutationObserver(function () {
      var live = document.getElementById(self.liveId);
      var state = live && live.getAttribute("data-state");
      if (!state) return;
      try {
        self.apply(JSON.parse(state));
      } catch (error) {
        self.problem("A live update of the chart could not be read.");
      }
    }).observe(this.root, { childList: true });
  };

  function start() {
    if (typeof LightweightCharts === "undefined") return;
    Array.prototype.forEach.call(document.querySelectorAll("[data-price-chart]"), function (root) {
      if (root.getAttribute("data-chart")) return;
      root.setAttribute("data-chart", "loading");
      new PriceChart(root).load();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
