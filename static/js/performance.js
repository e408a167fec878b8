// The Performance page's charts: the equity curve, its drawdown under it and the daily closed
// PnL, drawn with TradingView Lightweight Charts (vendored, global `LightweightCharts`).
// The data arrive as exact decimal strings in #equity-chart's data-charts attribute; they
// become floats here only to be drawn (no figure is computed from them).
(function () {
  "use strict";

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function points(rows) {
    return rows.map(function (row) { return { time: row.time, value: parseFloat(row.value) }; });
  }

  // 10,013.26: the axis and crosshair labels with thousands separators, 2 places.
  var money = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function chartIn(el, height) {
    return LightweightCharts.createChart(el, {
      autoSize: true,
      height: height,
      localization: { priceFormatter: function (v) { return money.format(v); } },
      // The logo injects a <style> element, which the strict CSP refuses; credited below.
      layout: { attributionLogo: false, background: { color: "transparent" }, textColor: css("--muted") || "#888" },
      grid: { vertLines: { visible: false }, horzLines: { color: css("--border") || "#ddd" } },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false },
      handleScroll: false,
      handleScale: false,
    });
  }

  function draw() {
    var section = document.getElementById("perf-charts");
    if (!section || typeof LightweightCharts === "undefined") return;
    var data = JSON.parse(section.dataset.charts);
    var holder = document.getElementById("equity-chart");
    var gain = css("--success") || "#16a34a";
    var loss = css("--error") || "#dc2626";
    var charts = [];

    if (holder) {
      var equity = chartIn(holder, 260);
      equity.addSeries(LightweightCharts.LineSeries, { color: css("--accent") || "#2563eb", lineWidth: 2 })
        .setData(points(data.equity));
      charts.push(equity);
      var under = document.getElementById("drawdown-chart");
      if (under) {
        var drawdown = chartIn(under, 120);
        drawdown.addSeries(LightweightCharts.AreaSeries, {
          lineColor: loss, topColor: loss, bottomColor: "rgba(0,0,0,0)", lineWidth: 1,
          priceFormat: { type: "custom", formatter: function (v) { return money.format(v) + " %"; } },
        }).setData(points(data.drawdown));
        charts.push(drawdown);
      }
    }
    var daily = document.getElementById("daily-chart");
    if (daily) {
      var bars = chartIn(daily, 160);
      bars.addSeries(LightweightCharts.HistogramSeries, {}).setData(
        points(data.daily).map(function (p) { return { time: p.time, value: p.value, color: p.value < 0 ? loss : gain }; })
      );
      charts.push(bars);
    }
    charts.forEach(function (chart) { chart.timeScale().fitContent(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
