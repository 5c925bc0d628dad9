package io.lccheckpoint.cli;

import io.lccheckpoint.embedded.EmbeddedKafka;
import io.lccheckpoint.embedded.TempDirectories;
import io.lccheckpoint.encoder.EncoderService;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lcckpt broker}: the demo's single-node KRaft broker on 127.0.0.1 for development, kept running until Ctrl-C,
 * with the encoder beside it unless {@code --no-encoder}. Its data lives in a temporary directory and goes with it.
 */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Starts a local single-node Kafka broker (KRaft, 127.0.0.1) and, unless --no-encoder, the encoder; prints the bootstrap"
                + " address and runs until Ctrl-C. For development: the data is temporary.")
final class BrokerCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "0", description = "The broker's port on 127.0.0.1 (default: a free one).")
    int port;

    @Option(names = "--no-encoder", description = "Start the broker alone (run `lcckpt encoder` yourself).")
    boolean noEncoder;

    @Override
    public Integer call() throws Exception {
        EmbeddedKafka kafka = EmbeddedKafka.start(Duration.ofSeconds(90), Map.of(), port);
        System.out.println("lcckpt broker: Kafka on " + kafka.bootstrapServers() + " (bootstrap.servers=" + kafka.bootstrapServers() + "); Ctrl-C stops it");
        System.out.flush();
        if (noEncoder) {
            new CountDownLatch(1).await(); // until Ctrl-C: the broker's shutdown hook stops it
            return 0;
        }
        Path state = Files.createTempDirectory("lcckpt-broker-encoder-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> TempDirectories.delete(state), "lcckpt-broker-encoder-state"));
        Map<String, Object> settings = new HashMap<>();
        settings.put("bootstrap.servers", kafka.bootstrapServers());
        settings.put("application.id", "lcckpt-dev-encoder");
        settings.put("state.dir", state.toString());
        return EncoderService.run(settings);
    }
}
