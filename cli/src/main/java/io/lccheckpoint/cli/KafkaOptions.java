package io.lccheckpoint.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.Option;

/** Connection settings shared by the commands: every Kafka client setting passes through from the file or -D. */
final class KafkaOptions {
    @Option(names = {"-b", "--bootstrap-servers"}, description = "Kafka bootstrap servers (or bootstrap.servers in --config).")
    String bootstrapServers;

    @Option(names = "--config", description = "A properties file of Kafka client settings (security.protocol, sasl.*, ssl.*, client.id, ...)"
            + " and lcckpt.* settings.")
    Path config;

    @Option(names = "-D", description = "One more setting, key=value (repeatable).", mapFallbackValue = "")
    Map<String, String> extra = new HashMap<>();

    Map<String, Object> settings() throws IOException {
        Map<String, Object> settings = new HashMap<>();
        if (config != null) {
            Properties properties = new Properties();
            try (InputStream in = Files.newInputStream(config)) {
                properties.load(in);
            }
            properties.forEach((key, value) -> settings.put((String) key, value));
        }
        settings.putAll(extra);
        if (bootstrapServers != null) {
            settings.put("bootstrap.servers", bootstrapServers);
        }
        if (!settings.containsKey("bootstrap.servers")) {
            throw new IllegalArgumentException("no Kafka to talk to: give --bootstrap-servers or bootstrap.servers in --config");
        }
        return settings;
    }
}
