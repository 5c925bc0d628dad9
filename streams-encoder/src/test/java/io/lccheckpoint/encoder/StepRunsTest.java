package io.lccheckpoint.encoder;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class StepRunsTest {

    @Test
    void runsHoldExactlyTheStepsAddedAndNotRemoved() {
        SplittableRandom random = new SplittableRandom(7);
        for (int trial = 0; trial < 200; trial++) {
            StepRuns runs = new StepRuns();
            TreeSet<Long> steps = new TreeSet<>();
            long step = random.nextInt(5);
            for (int i = 0; i < 40; i++) {
                // mostly even strides (runs), sometimes a jump
                step += random.nextInt(4) == 0 ? 1 + random.nextInt(9) : 2;
                runs.add(step);
                steps.add(step);
            }
            long bound = random.nextLong(step + 1);
            runs.removeUpTo(bound, removed -> assertThat(steps.remove(removed)).isTrue());
            assertThat(steps.isEmpty() || steps.first() > bound).isTrue();
            assertThat(runs.toList()).containsExactlyElementsOf(steps);
            for (long probe = -1; probe <= step + 3; probe++) {
                assertThat(runs.contains(probe)).as("step %d", probe).isEqualTo(steps.contains(probe));
            }
        }
    }
}
