package io.lccheckpoint.cli;

import io.lccheckpoint.encoder.EncoderService;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code lcckpt encoder --config encoder.properties}: runs the Streams encoder until stopped (SIGTERM) or until it
 * cannot go on (non-zero, with one log line saying why; see {@link EncoderService}).
 */
@Command(name = "encoder", mixinStandardHelpOptions = true,
        description = "Runs the exactly-once Kafka Streams encoder (lcckpt.* settings and any Kafka Streams setting). SIGTERM closes it cleanly (exit"
                + " code 143); it exits 1 if Kafka Streams failed, 3 out of memory, 4 stuck for lcckpt.stall.exit.ms; lcckpt.health.port serves"
                + " /health/live and /health/ready.")
final class EncoderCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka = new KafkaOptions();

    @Override
    public Integer call() throws Exception {
        return EncoderService.run(kafka.settings());
    }
}
