package io.lccheckpoint.eval;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/** The report's plots (PNG, drawn headless with XChart). */
public final class Plots {
    private Plots() {
    }

    /** Mean rework per scheme, one series per model, with the 95% confidence intervals as error bars. */
    public static Path rework(Map<String, List<ReworkExperiment.Result>> results, Path directory) throws IOException {
        System.setProperty("java.awt.headless", "true");
        CategoryChart chart = new CategoryChartBuilder().width(1100).height(520).title("Rework after a failure (iterations, mean and 95% CI)")
                .xAxisTitle("scheme").yAxisTitle("iterations").build();
        style(chart);
        results.forEach((model, list) -> {
            List<String> schemes = new ArrayList<>();
            List<Double> means = new ArrayList<>();
            List<Double> errors = new ArrayList<>();
            for (ReworkExperiment.Result result : list) {
                schemes.add(result.scheme());
                means.add(result.meanRework());
                errors.add(Double.isNaN(result.ci95()) ? 0 : result.ci95());
            }
            chart.addSeries(model, schemes, means, errors);
        });
        return save(chart, directory.resolve("rework.png"));
    }

    /** Size ratio to float32 after each stage, per model and promotion width. */
    public static Path breakdown(Map<String, List<CompressionBreakdown.Row>> breakdowns, Path directory) throws IOException {
        System.setProperty("java.awt.headless", "true");
        CategoryChart chart = new CategoryChartBuilder().width(900).height(480).title("Compression breakdown (ratio to float32)")
                .xAxisTitle("model, promotion bits").yAxisTitle("x smaller").build();
        style(chart);
        List<String> groups = new ArrayList<>();
        List<Double> e = new ArrayList<>();
        List<Double> ep = new ArrayList<>();
        List<Double> eph = new ArrayList<>();
        List<Double> zeroRun = new ArrayList<>();
        breakdowns.forEach((model, rows) -> {
            for (CompressionBreakdown.Row row : rows) {
                groups.add(model + ", " + row.promotionBits() + " bits");
                e.add(row.ratioE());
                ep.add(row.ratioEP());
                eph.add(row.ratioEPH());
                zeroRun.add(row.ratioZeroRun());
            }
        });
        chart.addSeries("E", groups, e);
        chart.addSeries("E+P", groups, ep);
        chart.addSeries("E+P+H (paper)", groups, eph);
        chart.addSeries("zero-run (ours)", groups, zeroRun);
        return save(chart, directory.resolve("breakdown.png"));
    }

    /**
     * Grouped bars: one group per label of {@code groups}, one bar per series (a series' list is parallel to the groups).
     * With {@code logY} the value axis is logarithmic (values far apart, as step times under
     * quotas are) and the values are drawn as markers: XChart's bars start at zero, which a log axis cannot show.
     */
    public static Path bars(String title, String xTitle, String yTitle, List<String> groups, Map<String, List<Double>> series, boolean logY, Path file)
            throws IOException {
        System.setProperty("java.awt.headless", "true");
        CategoryChart chart = new CategoryChartBuilder().width(1100).height(520).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        style(chart);
        chart.getStyler().setYAxisLogarithmic(logY);
        if (logY) {
            chart.getStyler().setDefaultSeriesRenderStyle(org.knowm.xchart.CategorySeries.CategorySeriesRenderStyle.Scatter);
            chart.getStyler().setMarkerSize(12);
        }
        series.forEach((name, values) -> chart.addSeries(name, groups, values));
        return save(chart, file);
    }

    private static void style(CategoryChart chart) {
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setXAxisLabelRotation(30);
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setPlotGridVerticalLinesVisible(false);
    }

    private static Path save(CategoryChart chart, Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        return file;
    }
}
