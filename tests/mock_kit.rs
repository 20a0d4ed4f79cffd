//! The mock kit as a `Provider` inside a `Kit`: discovery, open by id, plug/unplug events,
//! and a user's own hand-written fake provider next to it.

use async_trait::async_trait;
use buergerkoffer::mock::{MockKit, MockScanner};
use buergerkoffer::{
    Backend, DeviceEvent, DeviceId, DeviceInfo, DeviceKind, ErrorKind, Kit, Provider,
};
use futures_util::StreamExt;

static_assertions::assert_impl_all!(MockKit: Send, Sync, Clone);
static_assertions::assert_impl_all!(Kit: Send, Sync, Clone);

#[tokio::test]
async fn standard_kit_lists_and_opens_all_three_kinds() {
    let kit = Kit::new().with_provider(MockKit::standard());
    let found = kit.discover().await;
    assert!(found.failures.is_empty());
    let kinds: Vec<DeviceKind> = found.devices.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        vec![
            DeviceKind::CardReader,
            DeviceKind::Scanner,
            DeviceKind::Printer
        ]
    );
    for d in &found.devices {
        let id: DeviceId = d.id.to_string().parse().unwrap();
        match d.kind {
            DeviceKind::CardReader => assert_eq!(kit.open_reader(&id).await.unwrap().info().id, id),
            DeviceKind::Scanner => assert_eq!(kit.open_scanner(&id).await.unwrap().info().id, id),
            DeviceKind::Printer => assert_eq!(kit.open_printer(&id).await.unwrap().info().id, id),
            _ => unreachable!(),
        }
    }
    let e = kit.open_scanner(&DeviceId::mock("nope")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = kit
        .open_scanner(&"sane:test".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("feature"), "{e}");
}

#[tokio::test]
async fn plug_and_unplug_events() {
    let mock = MockKit::new();
    let kit = Kit::new().with_provider(mock.clone());
    let mut events = kit.events();
    mock.plug_scanner(MockScanner::new("second"));
    assert!(mock.unplug(&DeviceId::mock("second")));
    assert!(!mock.unplug(&DeviceId::mock("second")));
    match events.next().await {
        Some(DeviceEvent::Added(info)) => assert_eq!(info.id, DeviceId::mock("second")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        events.next().await,
        Some(DeviceEvent::Removed(DeviceId::mock("second")))
    );
}

/// A user's own fake, plugged into the same public types as real backends.
struct OneFakePrinter;

#[async_trait]
impl Provider for OneFakePrinter {
    fn backend(&self) -> Backend {
        Backend::Custom("acme".into())
    }
    async fn devices(&self) -> buergerkoffer::Result<Vec<DeviceInfo>> {
        Ok(vec![DeviceInfo::new(
            "acme:p1".parse()?,
            DeviceKind::Printer,
            "ACME",
        )])
    }
}

struct Broken;

#[async_trait]
impl Provider for Broken {
    fn backend(&self) -> Backend {
        Backend::Custom("broken".into())
    }
    async fn devices(&self) -> buergerkoffer::Result<Vec<DeviceInfo>> {
        Err(buergerkoffer::Error::new(
            ErrorKind::Backend,
            "broken",
            "list devices",
        ))
    }
}

#[tokio::test]
async fn custom_providers_and_failures_do_not_hide_other_devices() {
    let kit = Kit::new()
        .with_provider(MockKit::standard())
        .with_provider(OneFakePrinter)
        .with_provider(Broken);
    let found = kit.discover().await;
    assert_eq!(found.devices.len(), 4);
    assert_eq!(found.failures.len(), 1);
    assert_eq!(found.failures[0].kind(), ErrorKind::Backend);
    let e = kit
        .open_printer(&"acme:p1".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Unsupported,
        "default open_* says unsupported"
    );
}
