package io.lccheckpoint.experiments;

import io.lccheckpoint.eval.CompressionBreakdown;
import io.lccheckpoint.eval.Plots;
import io.lccheckpoint.eval.PromotionEffectiveness;
import io.lccheckpoint.eval.ReworkExperiment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * docs/EVALUATION.md as {@code lcckpt eval} writes it ({@code eval-report.md.mustache}) with its plots: the targets of
 * issue #4 judged on this run's figures, then each experiment's table. The sections other commands regenerate
 * ({@code lcckpt eval hapi}) are kept as they were.
 */
final class EvalReport {
    private final Path report;
    private final boolean full;

    EvalReport(Path report, boolean full) {
        this.report = report;
        this.full = full;
    }

    void write(List<PaperEvaluation.Model> models, Map<String, List<ReworkExperiment.Result>> results,
               Map<String, List<CompressionBreakdown.Row>> breakdowns, List<PaperEvaluation.Comparison> comparisons,
               List<PromotionEffectiveness.Bucket> promotion, boolean realData, List<PaperEvaluation.CaseStudy> studies,
               List<OverheadExperiment.Overhead> overheads, double seconds) throws IOException {
        Map<String, Object> scope = new HashMap<>();
        scope.put("runFlag", full ? "--full" : "--quick");
        scope.put("runKind", full ? "the full" : "a quick");
        scope.put("seconds", format("%.0f", seconds));
        scope.put("cores", Runtime.getRuntime().availableProcessors());
        scope.put("data", realData ? "Fashion-MNIST from Debian's `dataset-fashion-mnist`" : "synthetic images (the dataset package was absent)");
        scope.put("models", models.stream().map(m -> Map.of("name", m.name(), "description", m.description())).toList());
        scope.put("targets", targets(results, breakdowns, comparisons, overheads, seconds));
        List<Map<String, Object>> rework = new ArrayList<>();
        for (PaperEvaluation.Model model : models) {
            for (ReworkExperiment.Result result : results.get(model.name())) {
                rework.add(Map.of("model", model.name(), "failures", model.failures().length, "seeds", model.seeds().length, "scheme", result.scheme(),
                        "fraction", format("%.2f", 100 * result.fractionOfFull()), "mean", format("%.1f", result.meanRework()),
                        "ci", format("%.1f", result.ci95()), "capped", result.capped(), "runs", result.reworks().size(), "cap", result.cap()));
            }
        }
        scope.put("rework", rework);
        scope.put("comparisons", comparisons.stream().map(c -> Map.of("model", c.model(), "size", c.size(), "baseline", c.baseline(), "lc", c.lc(),
                "ratio", c.ratioText())).toList());
        List<Map<String, Object>> breakdown = new ArrayList<>();
        breakdowns.forEach((model, rows) -> {
            for (CompressionBreakdown.Row row : rows) {
                breakdown.add(Map.of("model", model, "bits", row.promotionBits(), "e", format("%.1f", row.ratioE()), "ep", format("%.1f", row.ratioEP()),
                        "eph", format("%.1f", row.ratioEPH()), "zeroRun", format("%.1f", row.ratioZeroRun()),
                        "gain", format("%.2f", row.ratioZeroRun() / row.ratioEPH()), "zero", format("%.1f", 100 * row.zeroFraction())));
            }
        });
        scope.put("breakdown", breakdown);
        scope.put("promotion", promotion.stream().map(b -> Map.of("exponent", b.exponent(), "fraction", format("%.2f", 100 * b.fraction()),
                "error", format("%.4f", 100 * b.relativeLossError()))).toList());
        scope.put("overheads", overheads.stream().map(o -> Map.ofEntries(Map.entry("model", o.model()), Map.entry("steps", o.steps()),
                Map.entry("plain", format("%.3f", o.plainMillis())), Map.entry("checkpointed", format("%.3f", o.checkpointedMillis())),
                Map.entry("overhead", format("%+.1f", o.overheadPercent())), Map.entry("plainCpu", format("%.3f", o.plainCpuMillis())),
                Map.entry("checkpointedCpu", format("%.3f", o.checkpointedCpuMillis())), Map.entry("cpuOverhead", format("%+.1f", o.cpuOverheadPercent())),
                Map.entry("blocked", format("%.3f", o.blockedMillis())), Map.entry("blockedPercent", format("%.2f", o.blockedPercent())))).toList());
        scope.put("studies", studies.stream().map(c -> Map.of("model", c.model(), "full", format("%.1f", c.full().meanRework()),
                "lc", format("%.1f", c.lc().meanRework()), "saved", format("%.1f", c.savedIterations()), "savedSeconds", format("%.2f", c.savedSeconds()),
                "stepMillis", format("%.1f", c.stepMillis()))).toList());
        String md = Templates.render("eval-report.md.mustache", scope);
        Files.createDirectories(report.toAbsolutePath().getParent());
        Path plots = report.toAbsolutePath().getParent().resolve("eval");
        Plots.rework(results, plots);
        Plots.breakdown(breakdowns, plots);
        // the sections other commands regenerate (lcckpt eval hapi, lcckpt eval adam) stay as they were
        String existing = Files.exists(report) ? Files.readString(report) : "";
        String kept = ReportSections.section(existing, HapiReport.SECTION) + ReportSections.section(existing, AdamEvaluation.SECTION);
        Files.writeString(report, md + (kept.isEmpty() ? "" : "\n" + kept));
        System.out.println("report written to " + report);
    }

    /** The targets, each computed from this run's figures and marked met or missed. */
    private List<Map<String, Object>> targets(Map<String, List<ReworkExperiment.Result>> results, Map<String, List<CompressionBreakdown.Row>> breakdowns,
                                              List<PaperEvaluation.Comparison> comparisons, List<OverheadExperiment.Overhead> overheads, double seconds) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (PaperEvaluation.Comparison c : comparisons) {
            if (c.baseline().startsWith("full")) {
                continue;
            }
            ReworkExperiment.Result baseline = find(results.get(c.model()), c.baseline());
            ReworkExperiment.Result lc = find(results.get(c.model()), c.lc());
            boolean met = lc.meanRework() <= baseline.meanRework();
            boolean withinCi = Math.abs(lc.meanRework() - baseline.meanRework()) <= lc.ci95() + baseline.ci95();
            rows.add(target("LC rework <= " + c.baseline().split(" ")[0] + "'s at " + c.size(), c.model(),
                    format("%s %.1f ± %.1f vs %.1f ± %.1f", c.lc(), lc.meanRework(), lc.ci95(), baseline.meanRework(), baseline.ci95()),
                    met ? "met" : withinCi ? "**missed** (within the CIs)" : "**missed**"));
        }
        breakdowns.forEach((model, list) -> {
            for (CompressionBreakdown.Row row : list) {
                double target = row.promotionBits() == 2 ? 20 : 10;
                rows.add(target(format("LC (Huffman) >= %.0fx at %d bits", target, row.promotionBits()), model, format("%.1fx", row.ratioEPH()),
                        verdict(row.ratioEPH() >= target)));
                double gain = row.ratioZeroRun() / row.ratioEPH();
                rows.add(target("zero-run >= 2x smaller than Huffman LC, " + row.promotionBits() + " bits", model,
                        format("%.2fx (%.1fx vs %.1fx)", gain, row.ratioZeroRun(), row.ratioEPH()), verdict(gain >= 2)));
                if (model.startsWith("LeNet")) {
                    rows.add(target("zero-run >= 100x on the CNN, " + row.promotionBits() + " bits", model, format("%.1fx", row.ratioZeroRun()),
                            verdict(row.ratioZeroRun() >= 100)));
                }
            }
        });
        results.forEach((model, list) -> {
            for (int bits = 2; bits <= 4; bits++) {
                ReworkExperiment.Result huffman = find(list, "LC " + bits + "-bit Huffman");
                ReworkExperiment.Result zeroRun = find(list, "LC " + bits + "-bit zero-run");
                boolean within = Math.abs(zeroRun.meanRework() - huffman.meanRework()) <= huffman.ci95() + 1e-9;
                rows.add(target("zero-run rework within Huffman LC's CI, " + bits + " bits", model,
                        format("%.1f vs %.1f ± %.1f", zeroRun.meanRework(), huffman.meanRework(), huffman.ci95()), verdict(within)));
            }
        });
        for (OverheadExperiment.Overhead o : overheads) {
            rows.add(target("training loop blocked < 1% of the step", o.model(), format("%.2f%%", o.blockedPercent()), verdict(o.blockedPercent() < 1)));
        }
        if (!full) {
            rows.add(target("--quick <= 10 minutes", "all", format("%.1f min", seconds / 60), verdict(seconds <= 600)));
        }
        return rows;
    }

    private static Map<String, Object> target(String target, String model, String figure, String verdict) {
        return Map.of("target", target, "model", model, "figure", figure, "verdict", verdict);
    }

    private static ReworkExperiment.Result find(List<ReworkExperiment.Result> results, String scheme) {
        return results.stream().filter(r -> r.scheme().equals(scheme)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no result for scheme " + scheme));
    }

    private static String verdict(boolean met) {
        return met ? "met" : "**missed**";
    }

    private static String format(String format, Object... arguments) {
        return String.format(Locale.ROOT, format, arguments);
    }
}
