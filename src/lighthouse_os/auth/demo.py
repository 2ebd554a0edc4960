"""Demo tenants: the C4IR HCMC pilot program, six factories in Saigon's industrial parks, users."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lighthouse_os.auth.consent import enrol
from lighthouse_os.auth.models import Organisation
from lighthouse_os.auth.tenants import SiteInput, create_org, create_site, create_user
from lighthouse_os.settings import Settings

PROGRAM_CODE = "c4ir-hcmc"
DEMO_PASSWORD = "lighthouse-demo-2026"  # printed by `lhos demo`; a demo instance only


@dataclass(frozen=True)
class DemoFactory:
    """One simulated manufacturer with its single site."""

    org: str
    site_code: str
    site: str
    vsic: str
    park: str
    district: str
    lat: float
    lon: float
    consent: str


DEMO_FACTORIES = (
    DemoFactory(
        "Cơ khí Chính xác Sài Gòn",
        "saigon-precision",
        "Nhà máy Cơ khí Khu Công nghệ cao",
        "2592",
        "Khu Công nghệ cao Sài Gòn",
        "TP. Thủ Đức",
        10.8411,
        106.8090,
        "details",
    ),
    DemoFactory(
        "Điện tử Tân Thuận",
        "tanthuan-electronics",
        "Nhà máy Điện tử Tân Thuận",
        "2610",
        "Khu chế xuất Tân Thuận",
        "Quận 7",
        10.7590,
        106.7380,
        "details",
    ),
    DemoFactory(
        "Thực phẩm Hiệp Phước",
        "hiepphuoc-foods",
        "Nhà máy Thực phẩm Hiệp Phước",
        "1079",
        "Khu công nghiệp Hiệp Phước",
        "Huyện Nhà Bè",
        10.6350,
        106.7530,
        "details",
    ),
    DemoFactory(
        "Nhựa Tân Tạo",
        "tantao-plastics",
        "Nhà máy Nhựa Tân Tạo",
        "2220",
        "Khu công nghiệp Tân Tạo",
        "Quận Bình Tân",
        10.7500,
        106.5900,
        "aggregate",
    ),
    DemoFactory(
        "May mặc Linh Trung",
        "linhtrung-garments",
        "Xưởng May Linh Trung",
        "1410",
        "Khu chế xuất Linh Trung",
        "TP. Thủ Đức",
        10.8700,
        106.7780,
        "aggregate",
    ),
    DemoFactory(
        "Bao bì Vĩnh Lộc",
        "vinhloc-packaging",
        "Nhà máy Bao bì Vĩnh Lộc",
        "1702",
        "Khu công nghiệp Vĩnh Lộc",
        "Quận Bình Tân",
        10.8150,
        106.5950,
        "aggregate",
    ),
)

DEMO_USERS = (
    ("admin@demo.lighthouse-os.vn", "saigon-precision-org", "platform_admin", None),
    ("factory@demo.lighthouse-os.vn", "saigon-precision-org", "site_admin", "saigon-precision"),
    ("program@demo.lighthouse-os.vn", PROGRAM_CODE, "program_admin", None),
)


def seed_identity(_settings: Settings, session: Session) -> str:
    """Create the demo program, factories and users once; later runs leave them as they are."""
    if session.scalar(select(Organisation.id).where(Organisation.code == PROGRAM_CODE)):
        return "demo tenants already present"
    create_org(session, name="C4IR HCMC – Lighthouse OS pilot", kind="program", code=PROGRAM_CODE)
    for factory in DEMO_FACTORIES:
        org_code = f"{factory.site_code}-org"
        create_org(session, name=factory.org, kind="manufacturer", code=org_code)
        data = SiteInput(
            name=factory.site,
            sector=factory.vsic,
            park=factory.park,
            district=factory.district,
            latitude=factory.lat,
            longitude=factory.lon,
            code=factory.site_code,
        )
        create_site(session, org_ref=org_code, data=data)
        enrol(
            session, program_ref=PROGRAM_CODE, site_ref=factory.site_code, consent=factory.consent
        )
    for email, org, role, site in DEMO_USERS:
        create_user(
            session, email=email, password=DEMO_PASSWORD, org_ref=org, role=role, site_ref=site
        )
    return f"{len(DEMO_FACTORIES)} factories enrolled in the C4IR HCMC pilot; demo users created"
