package io.lccheckpoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The README's first command, short: broker in a child JVM, encoder, trainer, crash, restore, resume, figures. */
class DemoIT {

    @Test
    void theDemoCrashesRestoresResumesAndLeavesNothingBehind(@TempDir Path out) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            exit = new CommandLine(new Lcckpt()).execute("demo", "--steps", "70", "--crash-at", "41", "--step-millis", "10",
                    "--superstep-interval", "20", "--dataset", out.resolve("no-dataset").toString(), "--out", out.resolve("model").toString());
        } finally {
            System.setOut(original);
        }
        String printed = captured.toString(StandardCharsets.UTF_8);
        System.out.println(printed);
        assertThat(exit).isZero();
        assertThat(printed).contains("data: synthetic").contains("real single-node KRaft Kafka at 127.0.0.1:")
                .contains("CRASH after step 41").contains("resume: new generation from step").contains("trained to step 70")
                .contains("steps lost by the crash, every-step checkpoints").contains("the broker and its data are gone");
        assertThat(out.resolve("model").resolve("model.safetensors")).exists();
        assertThat(Files.readString(out.resolve("model").resolve("model.safetensors.json"))).contains("\"job\" : \"demo\"");
        // the child broker is gone: no java process runs kafka.Kafka from our classpath any more
        assertThat(ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains("kafka.Kafka ")
                && p.info().commandLine().orElse("").contains("lcckpt-kafka-"))).isEmpty();
    }
}
