package io.lccheckpoint.cli;

import io.lccheckpoint.encoder.EncoderApp;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.streams.KafkaStreams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code lcckpt encoder --config encoder.properties}: runs the Streams encoder until stopped. */
@Command(name = "encoder", mixinStandardHelpOptions = true,
        description = "Runs the exactly-once Kafka Streams encoder (lcckpt.* settings and any Kafka Streams setting).")
final class EncoderCommand implements Callable<Integer> {
    @Mixin
    KafkaOptions kafka = new KafkaOptions();

    @Override
    public Integer call() throws Exception {
        KafkaStreams streams = EncoderApp.start(kafka.settings());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close();
            stopped.countDown();
        }, "lcckpt-encoder-stop"));
        stopped.await();
        return 0;
    }
}
