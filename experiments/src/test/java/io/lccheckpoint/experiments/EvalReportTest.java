package io.lccheckpoint.experiments;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.eval.CompressionBreakdown;
import io.lccheckpoint.eval.PromotionEffectiveness;
import io.lccheckpoint.eval.ReworkExperiment;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report of {@code lcckpt eval}: the template writes what the StringBuilder code wrote before it (issue #13), and keeps the HAPI section. */
class EvalReportTest {
    @TempDir
    Path directory;

    @Test
    void theTemplateWritesTheReportAsBeforeAndKeepsTheHapiSection() throws Exception {
        List<PaperEvaluation.Model> models = List.of(
                new PaperEvaluation.Model("MLR", "desc mlr", null, new int[] {1, 2, 3}, new long[] {1, 2}, 400, new String[] {"w"}, new int[] {0, 1}),
                new PaperEvaluation.Model("LeNet-5", "desc lenet", null, new int[] {4, 5}, new long[] {1}, 100, new String[] {"w"}, new int[] {0, 1}));
        Map<String, List<ReworkExperiment.Result>> results = new LinkedHashMap<>();
        int m = 0;
        for (PaperEvaluation.Model model : models) {
            List<ReworkExperiment.Result> list = new ArrayList<>();
            int k = 0;
            for (String name : PaperEvaluation.schemes(40_000L).keySet()) {
                k++;
                list.add(new ReworkExperiment.Result(name, 100.0 * k, 0.01 * k + 0.001 * m, List.of(k + m, 2 * k, 3 + m), 400));
            }
            m++;
            results.put(model.name(), list);
        }
        Map<String, List<CompressionBreakdown.Row>> breakdowns = new LinkedHashMap<>();
        breakdowns.put("MLR", List.of(new CompressionBreakdown.Row(2, 16, 18, 21.5, 40, 0.93), new CompressionBreakdown.Row(3, 10, 11, 9.5, 19, 0.8)));
        breakdowns.put("LeNet-5", List.of(new CompressionBreakdown.Row(2, 16, 18, 25.5, 140, 0.97), new CompressionBreakdown.Row(3, 10, 11, 12.5, 90, 0.9)));
        List<PromotionEffectiveness.Bucket> promotion = List.of(new PromotionEffectiveness.Bucket(-3, 0.1, 0.002),
                new PromotionEffectiveness.Bucket(-7, 0.5, 0.00001));
        List<PaperEvaluation.CaseStudy> studies = List.of(new PaperEvaluation.CaseStudy("MLR", results.get("MLR").get(0), results.get("MLR").get(3), 3.25));
        List<OverheadExperiment.Overhead> overheads = List.of(new OverheadExperiment.Overhead("MLR", 600, 4.0, 4.3, 0.01, 3.5, 3.9),
                new OverheadExperiment.Overhead("LeNet-5", 250, 40.0, 42.3, 0.5, 35, 36));
        Path report = directory.resolve("EVALUATION.md");
        Files.writeString(report, "# old\n\n<!-- hapi:start -->\nkept hapi\n<!-- hapi:end -->\n");

        new EvalReport(report, false).write(models, results, breakdowns, PaperEvaluation.compare(results), promotion, false, studies, overheads, 123.4);

        String before;
        try (InputStream in = EvalReportTest.class.getResourceAsStream("eval-report-before-templates.md")) {
            before = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(Files.readString(report)).isEqualTo(before.replace("CORES", String.valueOf(Runtime.getRuntime().availableProcessors())))
                .endsWith("<!-- hapi:start -->\nkept hapi\n<!-- hapi:end -->\n");
        assertThat(directory.resolve("eval").resolve("rework.png")).exists();
    }
}
