package io.lccheckpoint.cli;

import io.lccheckpoint.restorer.RestoreException;
import io.lccheckpoint.restorer.Restorer;
import io.lccheckpoint.schema.StepComplete;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code lcckpt steps --job J}: the steps a restore can return, per generation, with what each cost. */
@Command(name = "steps", mixinStandardHelpOptions = true,
        description = "Lists the restorable steps of a job: generation, step, whether it is a superstep, and its coded and raw bytes.")
final class StepsCommand implements Callable<Integer> {
    @Option(names = "--job", required = true, description = "The training job.")
    String job;

    @Option(names = "--all", description = "Every restorable step (default: each generation's first and last 10).")
    boolean all;

    @Option(names = "--json", description = "Every restorable step as a JSON array (for programs: the Python client's lcckpt.steps).")
    boolean json;

    @Mixin
    KafkaOptions kafka = new KafkaOptions();

    @Override
    public Integer call() throws Exception {
        List<StepComplete> steps;
        try {
            steps = new Restorer(kafka.settings()).completedSteps(job);
        } catch (RestoreException e) {
            System.err.println("lcckpt steps: " + e.getMessage());
            return 1;
        }
        if (steps.isEmpty()) {
            System.err.println("lcckpt steps: job " + job + " has no restorable step (if the trainer published, look at the job's dead-letter topic)");
            return 1;
        }
        if (json) {
            com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
            com.fasterxml.jackson.databind.node.ArrayNode array = mapper.createArrayNode();
            steps.forEach(step -> array.addObject().put("generation", step.getGeneration()).put("step", step.getStep())
                    .put("superstep", step.getSuperstep()).put("codedBytes", step.getEncodedBytes()).put("rawBytes", step.getRawBytes()));
            System.out.println(array);
            return 0;
        }
        System.out.printf("%-15s %10s %9s %14s %14s %8s%n", "generation", "step", "superstep", "coded bytes", "raw bytes", "ratio");
        long shownGeneration = Long.MIN_VALUE;
        int index = 0;
        for (int i = 0; i < steps.size(); i++) {
            StepComplete step = steps.get(i);
            if (step.getGeneration() != shownGeneration) {
                shownGeneration = step.getGeneration();
                index = 0;
            }
            long inGeneration = steps.stream().filter(s -> s.getGeneration() == step.getGeneration()).count();
            boolean shown = all || index < 10 || index >= inGeneration - 10;
            if (shown) {
                System.out.printf("%-15d %10d %9s %,14d %,14d %7.1fx%n", step.getGeneration(), step.getStep(), step.getSuperstep() ? "yes" : "",
                        step.getEncodedBytes(), step.getRawBytes(), step.getEncodedBytes() == 0 ? 0.0 : (double) step.getRawBytes() / step.getEncodedBytes());
            } else if (index == 10) {
                System.out.printf("%-15s %10s%n", "...", "(" + (inGeneration - 20) + " more; --all lists them)");
            }
            index++;
        }
        return 0;
    }
}
